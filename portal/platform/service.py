"""The app's national-platform client: the configured platform, or the embedded simulator.

In the embedded default the simulator is started on loopback on first use, so the portal still
speaks real HTTP through the same client production uses.
"""
import threading

from flask import current_app

from portal.platform.client import CachedPersonLookup, PlatformClient

_lock = threading.Lock()


def embedded_simulator(port=0):
    """Start (once per process and data dir) the simulator the embedded default talks to."""
    import platform_sim  # here: only the embedded default runs the simulator
    config = current_app.config
    return platform_sim.embedded(config["PLATFORM_SIM_DATA_DIR"], port=port,
                                 app_id=config["PLATFORM_APP_ID"], app_secret=config["PLATFORM_APP_SECRET"])


def platform_client():
    """The shared client of this app."""
    extensions = current_app.extensions
    with _lock:
        if "platform_client" not in extensions:
            config = current_app.config
            url = config.get("PLATFORM_URL") or embedded_simulator().url
            extensions["platform_client"] = PlatformClient.from_config(config, base_url=url)
    return extensions["platform_client"]


def person_finder(lookup=None):
    """A find_person callable for the rules (R9); pass a CachedPersonLookup to share answers."""
    return (lookup or CachedPersonLookup(platform_client())).lookup_status


def cached_lookup(ttl_seconds=300):
    """A lookup whose answers are reused within one task (10,000 rows, a few dozen distinct people)."""
    return CachedPersonLookup(platform_client(), ttl_seconds=ttl_seconds)
