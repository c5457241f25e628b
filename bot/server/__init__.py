"""opsbot's HTTP server: one aiohttp Application, assembled from route groups, in serve and socket modes."""
