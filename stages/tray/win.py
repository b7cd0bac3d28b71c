"""The icon itself, through the Win32 API (ctypes, no extra package): a hidden window receives the icon's
clicks and a timer that re-reads the session twice a second.

The menu's commands arrive as WM_COMMAND on that window, whether chosen with the mouse or posted by
another program (`PostMessageW(FindWindowW(WINDOW_CLASS, None), WM_COMMAND, ID_STOP, 0)`).
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"

import ctypes  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
from ctypes import wintypes as wt  # noqa: E402

from stages.spool import Session  # noqa: E402
from stages.tray import state  # noqa: E402

log = logging.getLogger("tray")
WINDOW_CLASS = "MeetingAssistantTray"
ID_STOP, ID_OPEN = 1, 2
WM_DESTROY, WM_CLOSE, WM_COMMAND, WM_TIMER = 0x0002, 0x0010, 0x0111, 0x0113
WM_CONTEXTMENU, WM_LBUTTONUP, WM_RBUTTONUP, WM_APP = 0x007B, 0x0202, 0x0205, 0x8000
WM_TRAY = WM_APP + 1
NIM_ADD, NIM_MODIFY, NIM_DELETE = 0, 1, 2
NIF_MESSAGE, NIF_ICON, NIF_TIP = 1, 2, 4
MF_STRING, MF_GRAYED = 0x0, 0x1
TPM_RIGHTBUTTON, TPM_BOTTOMALIGN, TPM_NONOTIFY, TPM_RETURNCMD = 0x2, 0x20, 0x80, 0x100
SM_CXSMICON = 49
POLL_MS = 500

LRESULT = ctypes.c_ssize_t
WNDPROC = ctypes.WINFUNCTYPE(LRESULT, wt.HWND, wt.UINT, wt.WPARAM, wt.LPARAM)


class WNDCLASSW(ctypes.Structure):
    _fields_ = [("style", wt.UINT), ("lpfnWndProc", WNDPROC), ("cbClsExtra", ctypes.c_int),
                ("cbWndExtra", ctypes.c_int), ("hInstance", wt.HINSTANCE), ("hIcon", wt.HICON),
                ("hCursor", wt.HANDLE), ("hbrBackground", wt.HBRUSH), ("lpszMenuName", wt.LPCWSTR),
                ("lpszClassName", wt.LPCWSTR)]


class GUID(ctypes.Structure):
    _fields_ = [("Data1", wt.DWORD), ("Data2", wt.WORD), ("Data3", wt.WORD), ("Data4", wt.BYTE * 8)]


class NOTIFYICONDATAW(ctypes.Structure):
    _fields_ = [("cbSize", wt.DWORD), ("hWnd", wt.HWND), ("uID", wt.UINT), ("uFlags", wt.UINT),
                ("uCallbackMessage", wt.UINT), ("hIcon", wt.HICON), ("szTip", wt.WCHAR * 128),
                ("dwState", wt.DWORD), ("dwStateMask", wt.DWORD), ("szInfo", wt.WCHAR * 256),
                ("uVersion", wt.UINT), ("szInfoTitle", wt.WCHAR * 64), ("dwInfoFlags", wt.DWORD),
                ("guidItem", GUID), ("hBalloonIcon", wt.HICON)]


user32 = ctypes.WinDLL("user32", use_last_error=True)
shell32 = ctypes.WinDLL("shell32", use_last_error=True)
kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
for name, restype, argtypes in [
    ("DefWindowProcW", LRESULT, [wt.HWND, wt.UINT, wt.WPARAM, wt.LPARAM]),
    ("RegisterClassW", wt.ATOM, [ctypes.POINTER(WNDCLASSW)]),
    ("CreateWindowExW", wt.HWND, [wt.DWORD, wt.LPCWSTR, wt.LPCWSTR, wt.DWORD, ctypes.c_int, ctypes.c_int,
                                  ctypes.c_int, ctypes.c_int, wt.HWND, wt.HMENU, wt.HINSTANCE, wt.LPVOID]),
    ("DestroyWindow", wt.BOOL, [wt.HWND]),
    ("RegisterWindowMessageW", wt.UINT, [wt.LPCWSTR]),
    ("SetTimer", ctypes.c_size_t, [wt.HWND, ctypes.c_size_t, wt.UINT, wt.LPVOID]),
    ("GetMessageW", wt.BOOL, [ctypes.POINTER(wt.MSG), wt.HWND, wt.UINT, wt.UINT]),
    ("TranslateMessage", wt.BOOL, [ctypes.POINTER(wt.MSG)]),
    ("DispatchMessageW", LRESULT, [ctypes.POINTER(wt.MSG)]),
    ("PostQuitMessage", None, [ctypes.c_int]),
    ("PostMessageW", wt.BOOL, [wt.HWND, wt.UINT, wt.WPARAM, wt.LPARAM]),
    ("CreatePopupMenu", wt.HMENU, []),
    ("AppendMenuW", wt.BOOL, [wt.HMENU, wt.UINT, ctypes.c_size_t, wt.LPCWSTR]),
    ("TrackPopupMenu", wt.BOOL, [wt.HMENU, wt.UINT, ctypes.c_int, ctypes.c_int, ctypes.c_int, wt.HWND, wt.LPVOID]),
    ("DestroyMenu", wt.BOOL, [wt.HMENU]),
    ("GetCursorPos", wt.BOOL, [ctypes.POINTER(wt.POINT)]),
    ("SetForegroundWindow", wt.BOOL, [wt.HWND]),
    ("GetSystemMetrics", ctypes.c_int, [ctypes.c_int]),
    ("CreateIcon", wt.HICON, [wt.HINSTANCE, ctypes.c_int, ctypes.c_int, wt.BYTE, wt.BYTE, ctypes.c_void_p,
                              ctypes.c_void_p]),
    ("DestroyIcon", wt.BOOL, [wt.HICON]),
]:
    func = getattr(user32, name)
    func.restype, func.argtypes = restype, argtypes
shell32.Shell_NotifyIconW.restype = wt.BOOL
shell32.Shell_NotifyIconW.argtypes = [wt.DWORD, ctypes.POINTER(NOTIFYICONDATAW)]
kernel32.GetModuleHandleW.restype = wt.HMODULE
kernel32.GetModuleHandleW.argtypes = [wt.LPCWSTR]


def disc_icon(rgb: tuple[int, int, int]) -> int:
    """A filled disc of one colour on a transparent square, at the notification area's icon size."""
    size = user32.GetSystemMetrics(SM_CXSMICON) or 16
    stride = (size + 15) // 16 * 2  # the AND mask's rows are WORD-aligned
    mask, colour = bytearray(b"\xff" * stride * size), bytearray(4 * size * size)
    middle = (size - 1) / 2
    for y in range(size):
        for x in range(size):
            if (x - middle) ** 2 + (y - middle) ** 2 <= (size / 2 - 0.5) ** 2:
                mask[y * stride + x // 8] &= ~(0x80 >> (x % 8)) & 0xFF
                colour[4 * (y * size + x): 4 * (y * size + x) + 4] = bytes((rgb[2], rgb[1], rgb[0], 0xFF))
    icon = user32.CreateIcon(None, size, size, 1, 32, bytes(mask), bytes(colour))
    if not icon:
        raise ctypes.WinError(ctypes.get_last_error())
    return int(icon)


class Tray:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.shown = state.read(session)
        self.icons = {True: disc_icon(state.RED), False: disc_icon(state.GREEN)}
        self.taskbar_created = user32.RegisterWindowMessageW("TaskbarCreated")  # the shell restarted: add again
        self._proc = WNDPROC(self._window_proc)  # kept referenced: Windows calls it for the window's lifetime
        instance = kernel32.GetModuleHandleW(None)
        wc = WNDCLASSW(lpfnWndProc=self._proc, hInstance=instance, lpszClassName=WINDOW_CLASS)
        if not user32.RegisterClassW(ctypes.byref(wc)):
            raise ctypes.WinError(ctypes.get_last_error())
        self.hwnd = user32.CreateWindowExW(0, WINDOW_CLASS, "Meeting assistant", 0, 0, 0, 0, 0, None, None,
                                           instance, None)
        if not self.hwnd:
            raise ctypes.WinError(ctypes.get_last_error())
        self._notify(NIM_ADD)
        user32.SetTimer(self.hwnd, 1, POLL_MS, None)

    def _notify(self, message: int) -> bool:
        data = NOTIFYICONDATAW(cbSize=ctypes.sizeof(NOTIFYICONDATAW), hWnd=self.hwnd, uID=1,
                               uFlags=NIF_MESSAGE | NIF_ICON | NIF_TIP, uCallbackMessage=WM_TRAY,
                               hIcon=self.icons[self.shown.recording], szTip=self.shown.tip)
        done = bool(shell32.Shell_NotifyIconW(message, ctypes.byref(data)))
        if not done and message != NIM_DELETE:
            log.warning("Shell_NotifyIconW(%d) failed (no notification area yet?)", message)
        return done

    def _window_proc(self, hwnd: int, msg: int, wparam: int, lparam: int) -> int:
        try:
            if msg == WM_TIMER:
                self.refresh()
            elif msg == WM_TRAY and lparam & 0xFFFF in (WM_LBUTTONUP, WM_RBUTTONUP, WM_CONTEXTMENU):
                self.menu()
            elif msg == WM_COMMAND:
                self.command(wparam & 0xFFFF)
            elif msg == self.taskbar_created:
                self._notify(NIM_ADD)
            elif msg == WM_CLOSE:
                user32.DestroyWindow(hwnd)
            elif msg == WM_DESTROY:
                self._notify(NIM_DELETE)
                user32.PostQuitMessage(0)
            else:
                return int(user32.DefWindowProcW(hwnd, msg, wparam, lparam))
        except Exception:  # an exception cannot cross the Win32 callback: log it, keep the icon alive
            log.exception("tray message %#x", msg)
        return 0

    def refresh(self) -> None:
        now = state.read(self.session)
        if not now.running:
            log.info("the session has ended: removing the icon")
            user32.PostMessageW(self.hwnd, WM_CLOSE, 0, 0)
        elif now != self.shown:
            self.shown = now
            self._notify(NIM_MODIFY)
            log.info("icon %s: %s", "red" if now.recording else "green", now.tip)

    def menu(self) -> None:
        menu = user32.CreatePopupMenu()
        labels = self.shown.labels
        stopped = not self.shown.running or self.session.requested("STOP")
        user32.AppendMenuW(menu, MF_STRING | (MF_GRAYED if stopped else 0), ID_STOP, labels["stop"])
        report = state.last_report(self.session.path.parent)
        user32.AppendMenuW(menu, MF_STRING | (MF_GRAYED if report is None else 0), ID_OPEN, labels["open"])
        point = wt.POINT()
        user32.GetCursorPos(ctypes.byref(point))
        user32.SetForegroundWindow(self.hwnd)  # so that the menu closes when the user clicks elsewhere
        chosen = user32.TrackPopupMenu(menu, TPM_RIGHTBUTTON | TPM_BOTTOMALIGN | TPM_NONOTIFY | TPM_RETURNCMD,
                                       point.x, point.y, 0, self.hwnd, None)
        user32.DestroyMenu(menu)
        if chosen:
            self.command(chosen)

    def command(self, item: int) -> None:
        if item == ID_STOP:
            log.info("stop chosen in the tray menu")
            self.session.request("STOP")
            self.refresh()
        elif item == ID_OPEN:
            report = state.last_report(self.session.path.parent)
            log.info("opening %s", report)
            if report is not None:
                os.startfile(report)

    def loop(self) -> None:
        msg = wt.MSG()
        while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
            user32.TranslateMessage(ctypes.byref(msg))
            user32.DispatchMessageW(ctypes.byref(msg))
        for icon in self.icons.values():
            user32.DestroyIcon(icon)


def run(session: Session) -> int:
    tray = Tray(session)
    log.info("icon %s: %s", "red" if tray.shown.recording else "green", tray.shown.tip)
    tray.loop()
    return 0
