"""Built-in routing strategies, registered through the `routeiq` entry point like any plugin."""
