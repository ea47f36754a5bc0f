"""BI services: Tableau Connected Apps tokens and embed specs (:mod:`.tableau`), Looker through looker-sdk
(:mod:`.looker`). Neither imports its client library until it is used.
"""
