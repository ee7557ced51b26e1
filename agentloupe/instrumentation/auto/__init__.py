"""Zero-code instrumentation: ``start()`` (run by the bootstrap ``sitecustomize``) and the bootstrap folder."""
