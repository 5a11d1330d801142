"""Django settings for the test suite (the Django tests replace CACHES as they need)."""

SECRET_KEY = "cache-bridge-tests-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_cache_bridge",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {
    "default": {
        "BACKEND": "django_cache_bridge.cache.BridgeCache",
        "LOCATION": "memory://django-tests",
    }
}
ROOT_URLCONF = "tests.django_tests.urls"
MIDDLEWARE: list[str] = []
ALLOWED_HOSTS = ["testserver"]
