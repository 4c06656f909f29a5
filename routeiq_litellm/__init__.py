"""RouteIQ inside LiteLLM: a CustomRoutingStrategyBase adapter, proxy plugins, and client adapters."""
