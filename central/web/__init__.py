"""The centre's web dashboard (Starlette + Jinja2 under uvicorn)."""
