"""Phone calls: records of calls (direction, duration, outcome, notes, recording) on the timeline."""
