"""The users service's adapters. Each module imports what it needs itself, so loading one
store's repositories does not import another's: ``documents`` (memory, Redis), ``sql``
and ``tables`` (SQLAlchemy), ``cache`` (the user cache), ``clock``. The HTTP and gRPC
entry adapters live here too (``http``, ``grpc``)."""
