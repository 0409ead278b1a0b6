"""Configuration: one TOML file plus environment variables choose, per concern, which
provider (adapter) runs, and configure the host, logging and each service.

```python
config = load_config("portside.toml")        # raises ConfigError listing every problem
config.choices["storage"].module()           # the DI module of the chosen provider
```

Environment variables ``PORTSIDE_<SECTION>__<KEY>`` override the file; a key ending in
``_file`` reads its value (a secret) from that file. Providers are discovered through the
``portside.providers`` entry point group.
"""

from ._errors import ConfigError, Problem
from ._model import (
    DEFAULT_CONFIG_FILE,
    Choice,
    Config,
    HostSettings,
    LoggingSettings,
    ServiceConfig,
    load_config,
)
from ._registry import ENTRY_POINT_GROUP, NoSettings, Provider, ProviderRegistry
from ._secrets import MASK, mask_url
from ._show import render

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "ENTRY_POINT_GROUP",
    "MASK",
    "Choice",
    "Config",
    "ConfigError",
    "HostSettings",
    "LoggingSettings",
    "NoSettings",
    "Problem",
    "Provider",
    "ProviderRegistry",
    "ServiceConfig",
    "load_config",
    "mask_url",
    "render",
]
