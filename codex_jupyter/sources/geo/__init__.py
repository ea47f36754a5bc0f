"""Geocoding and routing sources: the offline gazetteer (:mod:`.gazetteer`) and geocoder
(:mod:`.offline`), web providers through geopy (:mod:`.providers`) with a cache
(:mod:`.cache`), the provider chain and frame helpers (:mod:`.geocoding`), and OSRM road
distances (:mod:`.osrm`).
"""
