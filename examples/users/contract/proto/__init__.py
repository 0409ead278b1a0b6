"""The users service's gRPC contract: users.proto and the code ``make protos`` generates
from it (users_pb2, users_pb2_grpc and their type stubs)."""
