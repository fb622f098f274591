"""Coordinate reference systems: RD New inside the analysis, WGS84 only at the map's edge."""

RD_NEW = "EPSG:28992"
WGS84 = "EPSG:4326"
