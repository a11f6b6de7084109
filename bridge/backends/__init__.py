"""Backends: one package per simulator, and the machinery they share.

==========================  =========================================================================
``base``                    the :class:`~.base.Backend` interface (what a backend supports, as data)
``registry``                finding backends by name: built-ins and the ``bridge.backends`` entry points
``runner``, ``worker``      each run in a fresh subprocess (the model travels pickled)
``network_codegen``         naming and expression text shared by the reaction-network code generators
``reference/``              bridge's own solver: ``backend``, ``network`` (event loop), ``cells``,
                            ``reactions`` (reaction networks)
``nest/``                   ``backend``, ``mapping`` (catalog type -> NEST model, quirks), ``network``
``neuron/``                 ``backend``, ``network`` (cells), ``nmodl`` (catalog -> NMODL), ``kinetic``
                            (reaction network -> NMODL), ``build`` (nrnivmodl cache), ``reactions``,
                            ``sources`` (rewrites the committed ``mod/``)
``brian2/``                 ``backend``, ``network`` (cells), ``codegen`` (catalog -> Brian2 strings),
                            ``device``, ``methods``, ``reactions``
==========================  =========================================================================

Dependencies point one way: the command line and the harness use the backends, the backends use
the model description and the catalog, never the reverse (``tests/test_layout.py`` checks that no
module imports, directly or through others, a module that imports it).
"""
