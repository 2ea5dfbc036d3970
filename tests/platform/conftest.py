from tests.platform_fixtures import *  # noqa: F401,F403
