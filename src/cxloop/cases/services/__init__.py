"""Writes of case management, one file per concept: cases (lifecycle, assignment, hand-overs), sla, promises,
routing, plans. Import as `from cxloop.cases.services import cases as case_services`."""
