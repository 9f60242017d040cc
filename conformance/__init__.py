"""Discovery, BPMN -> Petri net, alignments and model diff; the only package that imports pm4py."""
