"""Size limits for metadata documents from clients."""

#: Largest metadata document accepted (after gunzip). A 5,000-instance study
#: is a few tens of MB as XML; anything near this is a mistake or an attack.
DEFAULT_MAX_DOCUMENT_SIZE = 256 * 1024 * 1024
