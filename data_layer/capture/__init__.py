"""Captured backdrops (CONTRACT 12): pages photographed by headless Chromium, queued in SQL.

``origins`` guards what may be opened, ``chromium`` finds a browser, ``photograph`` is the program that
drives it (run in a child process, so a hung or crashed browser costs one capture and nothing else),
``runner`` starts that program with hard bounds, ``jobs`` is the queue and ``worker`` runs it.
"""
