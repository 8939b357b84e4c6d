"""The cadastre of technogenic mineral formations (TMO): tailings, slag heaps, dumps, ponds."""
