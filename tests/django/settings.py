"""Django settings for the test suite (the Django tests replace CACHES as they need)."""

SECRET_KEY = "cache-bridge-tests-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_cache_bridge",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {
    "default": {
        "BACKEND": "django_cache_bridge.cache.BridgeCache",
        "LOCATION": "memory://django-tests",
    }
}
ROOT_URLCONF = "tests.django.urls"
MIDDLEWARE: list[str] = []
# For the admin site that the session tests log in to (tests/django/outage_urls.py).
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ALLOWED_HOSTS = ["testserver"]
