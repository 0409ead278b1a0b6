"""The service host: lifecycle hooks, health, graceful shutdown.

```python
service = Service("users", modules=[users_module], requires=["storage"])
Host(load_config(), [service]).run()      # or: portside run --config portside.toml
```
"""

from ._health import CheckResult, HealthCheck, HealthReport, run_checks
from ._host import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_FORCED,
    EXIT_OK,
    Host,
    ShuttingDown,
    load_service,
    run_from_config,
)
from ._lifecycle import Hook, HookError, Lifecycle, StartError
from ._service import Service, ServiceInfo, Startup

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_FORCED",
    "EXIT_OK",
    "CheckResult",
    "HealthCheck",
    "HealthReport",
    "Hook",
    "HookError",
    "Host",
    "Lifecycle",
    "Service",
    "ServiceInfo",
    "ShuttingDown",
    "StartError",
    "Startup",
    "load_service",
    "run_checks",
    "run_from_config",
]
