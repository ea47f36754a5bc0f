"""Voila settings JSON cannot hold: the landing page's hook. Installed as ``<env>/etc/jupyter/voila.py``.

Voila reads ``voila.py`` and ``voila.json`` from the folder it starts in and
from Jupyter's config folders. The plain settings travel with the notebooks
(``notebooks/voila.json``); this callable lives in Jupyter's config folder
instead, because a ``voila.py`` beside the notebooks would shadow the
``voila`` package for anything run from that folder (``python -m voila``).
The hook only adds data the ``codex`` template reads; other templates ignore it.
"""

from codex_jupyter.landing import page_config_hook

c = get_config()  # noqa: F821 - traitlets' config loader defines it
c.VoilaConfiguration.page_config_hook = page_config_hook
