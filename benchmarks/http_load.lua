-- The wrk script of http_bench.py's server part: the same requests as http_load.py, from
-- wrk's event loop in C instead of a Python process that competes with the server for
-- the machine's cores.
--
--   wrk -t1 -c32 -d5s -s http_load.lua http://127.0.0.1:8000 -- METHOD PATH IDS BODY TAG
--
-- PATH may hold {id}, replaced by one of the comma-separated IDS at random per request;
-- BODY (may be empty) may hold {n}, replaced by TAG-<thread>-<number>, unique within the
-- run, so POST /users registers a new name each time. At the end one JSON line is
-- printed: requests answered, errors (connect, read, write, timeouts and non-2xx/3xx
-- answers), the run's duration and latency in microseconds.

local method, path, body = "GET", "/", nil
local ids = {}
local tag = ""
local counter = 0
local threads = {}

function setup(thread)
   thread:set("thread_number", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   method, path = args[1], args[2]
   for id in string.gmatch(args[3] or "", "[^,]+") do
      table.insert(ids, id)
   end
   if args[4] ~= nil and args[4] ~= "" then
      body = args[4]
   end
   tag = (args[5] or "") .. "-" .. tostring(thread_number)
   math.randomseed(os.time() * 1000 + thread_number)
   if body ~= nil then
      wrk.headers["Content-Type"] = "application/json"
   end
end

function request()
   local target = path
   if #ids > 0 then
      target = (string.gsub(path, "{id}", ids[math.random(#ids)]))
   end
   local content = nil
   if body ~= nil then
      counter = counter + 1
      content = (string.gsub(body, "{n}", tag .. "-" .. counter))
   end
   return wrk.format(method, target, nil, content)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "status_errors": %d, "socket_errors": %d, "duration_us": %d, '
         .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
      summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
      summary.duration, latency:percentile(50), latency:percentile(99), latency.mean
   ))
end
