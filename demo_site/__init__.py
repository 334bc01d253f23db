"""Demo data: a web shop with realistic traffic and its mobile app, generated without a database.

The shop (:mod:`demo_site.catalog`) has 40 pages with Zipf-like traffic. Every page has one layout per
breakpoint (:mod:`demo_site.pages`, written as lists of blocks from :mod:`demo_site.parts` and
:mod:`demo_site.blocks`, laid out into the model of :mod:`demo_site.layout`); the app has five screens
(:mod:`demo_site.app_screens`). The click and tap generators (:mod:`demo_site.traffic`,
:mod:`demo_site.app_taps`) and the screenshot renderer (:mod:`demo_site.renderer`) read the same layouts,
so hotspots land on the drawn buttons. :func:`demo_site.loader.load_demo` (``heatmaps demo``, the
dashboard's "Load demo data") stores all of it through the ingestion path.

Everything is deterministic for the same arguments; event ids are derived from the seed and the event's
position, so loading the same demo twice stores nothing new.
"""
