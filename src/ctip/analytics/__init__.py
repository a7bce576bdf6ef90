"""Case analytics: trends, routes, profiles, country indicators, monitoring & evaluation."""
