"""veilig.maps: pure map builders (analysis results in, one offline HTML page out).

``hotspots.build_hotspot_map``, ``subsidy.build_subsidy_map``, ``rhythm.build_rhythm_map`` and the
plain ``pages`` (login, index); ``base`` holds the offline map factory, tiles and escaping.
"""
