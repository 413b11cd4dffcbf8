"""What the pages load from the site itself: the Vazirmatn font."""

from __future__ import annotations

from starlette.responses import FileResponse, Response
from starlette.routing import Route


def font(request):
    from pishkhan.exc import RenderError
    from pishkhan.text.fonts import font_path

    try:
        return FileResponse(font_path(request.path_params["weight"]), media_type="font/ttf",
                            headers={"Cache-Control": "public, max-age=86400"})
    except (RenderError, ValueError):
        return Response(status_code=404)


routes = [Route("/font/Vazirmatn-{weight}.ttf", font, name="font")]
