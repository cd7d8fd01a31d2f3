"""The flows: one module per kind of repair (found from the decision table), the sweep, and what they share (the
alert and evidence path, the step runner, baselines). They call AWS only through the ports."""
