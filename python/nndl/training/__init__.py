"""Training: the SGD loop both engines share (``sgd``), what it returns (``history``), its errors
(``errors``) and the one-call-at-a-time guard of every network method (``guard``)."""
