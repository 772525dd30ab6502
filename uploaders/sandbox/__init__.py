"""The sandbox platform: local pages on 127.0.0.1 that reproduce each platform's upload flow.

    from uploaders.sandbox import Sandbox

    with Sandbox(tmp_path / "sandbox") as sb:          # any free port, 127.0.0.1 only
        channel["base_url"] = sb.base_url("youtube")   # http://127.0.0.1:<port>/youtube
        sb.configure(channel["account"], platform="youtube", slow=3, overlay=True)
        ...                                            # run the real uploader against it
        sb.posts("youtube")                            # what it received, newest first

One module per platform (``youtube.py``; ``tiktok.py`` and ``instagram.py`` follow the same
pattern) holds that platform's pages and API as a :class:`PlatformApp`; ``server.py`` holds
the HTTP server, sessions, switches and the post store they share.

Adding a platform (every module of this package is loaded when a Sandbox is made):

    @register_app
    class TikTokApp(PlatformApp):
        name = "tiktok"               # mounted at /tiktok: base_url("tiktok")
        platform = "TikTok"
        session_cookie = "sessionid"  # set with Path=/tiktok by the app's sign-in page

        @route("GET", r"/tiktokstudio/upload")
        def upload_page(self, req):   # req.path is relative to /tiktok
            account = self.account(req)        # None when signed out (or switch signed_out)
            sw = self.switches(req, account)   # account config + cookie + ?sandbox=
            ...
            return Response.html(page)

        def sign_in(self, page, account, password=None): ...  # drive the sign-in page

Posts: ``self.sandbox.store.create(self.name, account, post_id, **fields)`` / ``update`` /
``get`` / ``list``; files from the page's multipart POST: ``req.multipart(Path(post["dir"]))``.
Switch meanings are shared (:data:`SWITCHES`); each app renders them its own platform's way.
"""

from .server import (
    APPS,
    SWITCHES,
    PlatformApp,
    PostStore,
    Request,
    Response,
    Sandbox,
    parse_switches,
    register_app,
    route,
)

__all__ = [
    "APPS", "SWITCHES", "PlatformApp", "PostStore", "Request", "Response", "Sandbox",
    "parse_switches", "register_app", "route",
]
