"""Thumbnails for the table, read from disk off the GUI thread and kept in a bounded cache.

The model asks :meth:`Thumbnails.get` only for rows the view paints, so with 100,000 videos
only the visible few dozen are ever read. Requests made while painting are batched into one
background job; each finished image is announced by ``ready(video_id)``.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from ui.worker import Worker

THUMB_SIZE = QSize(72, 40)


def load_images(items: list[tuple[str, str]], size: QSize, dpr: float) -> list[tuple[str, QImage | None]]:
    """Read and scale images (runs on a worker thread; QImage, unlike QPixmap, may)."""
    out = []
    box = QSize(max(1, round(size.width() * dpr)), max(1, round(size.height() * dpr)))
    for video_id, path in items:
        image = QImage(path)
        if image.isNull():
            out.append((video_id, None))
            continue
        image = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        image.setDevicePixelRatio(dpr)
        out.append((video_id, image))
    return out


class Thumbnails(QObject):
    """A cache of small pixmaps keyed by video id.

    Signals:
        ready(video_id): a thumbnail finished loading (or turned out to be unreadable).
    """

    ready = Signal(str)

    def __init__(self, worker: Worker, *, size: QSize = THUMB_SIZE, capacity: int = 3000,
                 dpr: float = 1.0, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.size = size
        self.capacity = capacity
        self.dpr = dpr
        self._cache: OrderedDict[str, QPixmap | None] = OrderedDict()
        self._paths: dict[str, str] = {}
        self._wanted: dict[str, str] = {}
        self._loading: set[str] = set()
        self._in_flight = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self._flush)

    def get(self, video_id: str, path: str | None) -> QPixmap | None:
        """The cached pixmap; None while it loads (a load is queued) or when there is none."""
        if not path:
            return None
        if video_id in self._cache and self._paths.get(video_id) == path:
            self._cache.move_to_end(video_id)
            return self._cache[video_id]
        if video_id not in self._loading:
            self._wanted[video_id] = path
            if not self._flush_timer.isActive() and not self._in_flight:
                self._flush_timer.start()
        return None

    def invalidate(self, video_id: str) -> None:
        self._cache.pop(video_id, None)
        self._paths.pop(video_id, None)

    def pending(self) -> bool:
        return bool(self._wanted or self._in_flight)

    def stop(self) -> None:
        self._flush_timer.stop()
        self._wanted.clear()

    def _flush(self) -> None:
        if not self._wanted or self._in_flight or self.worker.closed:
            return
        batch = list(self._wanted.items())[:64]
        for video_id, _ in batch:
            self._wanted.pop(video_id, None)
            self._loading.add(video_id)
        self._in_flight = True
        self.worker.run(load_images, batch, self.size, self.dpr, name="thumbnails", kind="thumbnails",
                        quiet=True, on_result=lambda res, b=batch: self._loaded(res, dict(b)),
                        on_done=lambda _t: self._batch_done())

    def _loaded(self, results: list[tuple[str, QImage | None]], paths: dict[str, str]) -> None:
        for video_id, image in results:
            self._loading.discard(video_id)
            self._cache[video_id] = QPixmap.fromImage(image) if image is not None else None
            self._paths[video_id] = paths[video_id]
            self._cache.move_to_end(video_id)
            while len(self._cache) > self.capacity:
                old, _ = self._cache.popitem(last=False)
                self._paths.pop(old, None)
            self.ready.emit(video_id)

    def _batch_done(self) -> None:
        self._in_flight = False
        self._loading.clear()
        if self._wanted:
            self._flush_timer.start()
