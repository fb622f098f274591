"""veilig: hotspot, Ritme van de Stad and burglary-subsidy analysis for Zoetermeer.

The analysis lives in :mod:`veilig.geo` and :mod:`veilig.ledger` (pure), storage in
:mod:`veilig.storage`, Folium maps in :mod:`veilig.maps`, and the two ways in (HTTP and the
command line) in :mod:`veilig.api`.
"""

__version__ = "0.1.0"
