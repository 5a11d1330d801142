"""A non-interactive tour of the example app: requests its views with Flask's test client and
runs the ``flask cache`` commands. ``CACHE_URL=redis://127.0.0.1:6379/0`` runs it against
Redis (it only touches keys under the ``flask_demo:`` prefix).

    python example_projects/flask_app/demo.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "integrations"), str(ROOT / "example_projects")]


def main() -> None:
    from flask_app import create_app
    from flask_app.extensions import bridge

    app = create_app()
    with app.app_context():
        print(f"cache: {bridge.description}")
    cli = app.test_cli_runner()
    print(cli.invoke(args=["cache", "flush", "--yes"]).output.strip())
    client = app.test_client()
    steps = [
        ("GET", "/users/1"),
        ("GET", "/users/1"),
        ("GET", "/report"),
        ("GET", "/report"),
        ("POST", "/report/refresh"),
        ("GET", "/report"),
        ("GET", "/async/visits"),
        ("GET", "/async/visits"),
    ]
    for method, path in steps:
        response = client.open(path, method=method)
        print(f"{method:4} {path:16} -> {response.status_code} {response.get_json()}")
    statuses = [client.get("/limited").status_code for _ in range(6)]
    print(f"GET  /limited x6 -> {statuses}")
    print(cli.invoke(args=["cache", "ping"]).output.strip())
    print(cli.invoke(args=["cache", "flush", "--dry-run"]).output.strip())
    print(cli.invoke(args=["cache", "flush", "--yes"]).output.strip())
    bridge.close(app)


if __name__ == "__main__":
    main()
