"""Item delegates for the tables: the per-platform upload buttons, painted, not widgets.

A real QPushButton per row (``setIndexWidget``) would mean 300,000 widgets for 100,000
videos; the delegate paints three button-looking rectangles in the visible rows only and
turns clicks on them into ``clicked(video_id, platform, global_pos)``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QHelpEvent, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
    QToolTip,
)

from ui.models.videos_model import PLATFORM_ICONS, PLATFORMS_SHOWN, VideoIdRole

EMOJI_FONT = "Noto Color Emoji"  # scripts/system-deps.sh installs it; elsewhere Qt falls back
BUTTON_WIDTH = 44
BUTTON_SPACING = 4
MARGIN = 3


class UploadButtonsDelegate(QStyledItemDelegate):
    """Paints 📷 🎵 ▶ buttons; a platform with several channels gets a ▾ (a menu follows).

    Args:
        channel_count: ``f(platform) -> int``, how many channels the platform has now.
    """

    clicked = Signal(str, str, QPoint)  # video_id, platform, where (global) to open a menu

    def __init__(self, channel_count, parent=None):
        super().__init__(parent)
        self.channel_count = channel_count
        self._pressed: tuple[int, str] | None = None

    def button_rects(self, rect: QRect) -> dict[str, QRect]:
        """Where each platform's button sits inside a cell."""
        n = len(PLATFORMS_SHOWN)
        width = min(BUTTON_WIDTH, max(16, (rect.width() - 2 * MARGIN - (n - 1) * BUTTON_SPACING) // n))
        height = min(28, rect.height() - 2 * MARGIN)
        top = rect.top() + (rect.height() - height) // 2
        out = {}
        x = rect.left() + MARGIN
        for platform in PLATFORMS_SHOWN:
            out[platform] = QRect(x, top, width, height)
            x += width + BUTTON_SPACING
        return out

    def _label(self, platform: str) -> str:
        return PLATFORM_ICONS[platform] + ("▾" if self.channel_count(platform) > 1 else "")

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        # background and selection as for any cell, then the buttons on top
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)  # the emoji are the whole label: make them legible
        # Prefer a colour emoji font for the glyphs; text fonts with monochrome emoji come after.
        font.setFamilies([EMOJI_FONT, *font.families()])
        painter.setFont(font)
        for platform, rect in self.button_rects(option.rect).items():
            button = QStyleOptionButton()
            button.rect = rect
            button.text = self._label(platform)
            button.palette = option.palette
            button.fontMetrics = painter.fontMetrics()
            enabled = self.channel_count(platform) > 0
            button.state = QStyle.StateFlag.State_Enabled if enabled else QStyle.StateFlag.State_None
            if self._pressed == (index.row(), platform):
                button.state |= QStyle.StateFlag.State_Sunken
            else:
                button.state |= QStyle.StateFlag.State_Raised
            style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, widget)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        n = len(PLATFORMS_SHOWN)
        return QSize(2 * MARGIN + n * BUTTON_WIDTH + (n - 1) * BUTTON_SPACING, 34)

    def hit(self, rect: QRect, pos: QPoint) -> str | None:
        for platform, r in self.button_rects(rect).items():
            if r.contains(pos) and self.channel_count(platform) > 0:
                return platform
        return None

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                        QEvent.Type.MouseButtonDblClick):
            return False
        assert isinstance(event, QMouseEvent)
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        platform = self.hit(option.rect, event.position().toPoint())
        view = option.widget
        if kind == QEvent.Type.MouseButtonPress:
            self._pressed = (index.row(), platform) if platform else None
            if view is not None:
                view.update(index) if isinstance(view, QAbstractItemView) else view.update()
            return platform is not None
        if kind == QEvent.Type.MouseButtonDblClick:
            return platform is not None
        pressed, self._pressed = self._pressed, None
        if isinstance(view, QAbstractItemView):
            view.viewport().update()
        if platform and pressed == (index.row(), platform):
            video_id = index.data(VideoIdRole)
            rect = self.button_rects(option.rect)[platform]
            anchor = view.viewport().mapToGlobal(rect.bottomLeft()) if isinstance(view, QAbstractItemView) \
                else event.globalPosition().toPoint()
            self.clicked.emit(video_id, platform, anchor)
            return True
        return platform is not None

    def helpEvent(self, event: QHelpEvent, view, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip:
            platform = self.hit(option.rect, event.pos())
            if platform:
                n = self.channel_count(platform)
                text = (f"Upload to {platform}" if n == 1 else f"Upload to {platform}: choose one of {n} channels, or all")
                QToolTip.showText(event.globalPos(), text, view)
                return True
        return super().helpEvent(event, view, option, index)


class ThumbnailDelegate(QStyledItemDelegate):
    """Draws the row's thumbnail centred in its cell (the default puts it at the left edge)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        opt.icon = opt.icon.__class__()
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        opt.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = pixmap.deviceIndependentSize().toSize()
            x = option.rect.x() + (option.rect.width() - size.width()) // 2
            y = option.rect.y() + (option.rect.height() - size.height()) // 2
            painter.drawPixmap(x, y, pixmap)


class CheckBoxDelegate(QStyledItemDelegate):
    """A check box centred in its cell; a click anywhere in the cell toggles it."""

    def _indicator(self, option: QStyleOptionViewItem) -> QRect:
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        probe = QStyleOptionViewItem(option)
        probe.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
        size = style.subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, probe, widget).size()
        return QRect(option.rect.x() + (option.rect.width() - size.width()) // 2,
                     option.rect.y() + (option.rect.height() - size.height()) // 2, size.width(), size.height())

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        state = opt.checkState
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
        opt.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        box = QStyleOptionViewItem(option)
        box.rect = self._indicator(option)
        box.state = (option.state & QStyle.StateFlag.State_Enabled) | (
            QStyle.StateFlag.State_On if state == Qt.CheckState.Checked else QStyle.StateFlag.State_Off)
        style.drawPrimitive(QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck, box, painter, widget)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802
        if not (index.flags() & Qt.ItemFlag.ItemIsUserCheckable):
            return False
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            return isinstance(event, QMouseEvent) and event.button() == Qt.MouseButton.LeftButton
        if kind == QEvent.Type.MouseButtonRelease:
            if not (isinstance(event, QMouseEvent) and event.button() == Qt.MouseButton.LeftButton
                    and option.rect.contains(event.position().toPoint())):
                return False
        elif kind == QEvent.Type.KeyPress:
            if event.key() not in (Qt.Key.Key_Space, Qt.Key.Key_Select):
                return False
        else:
            return False
        checked = index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
        return model.setData(index, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked,
                             Qt.ItemDataRole.CheckStateRole)
