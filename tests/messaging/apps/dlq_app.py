"""A service that only uses messaging, for the `portside dlq` tests."""

from portside.host import Service

service = Service("dlqsvc", requires=["messaging"])
