"""The centre's side of the protocol: publish boards, fleet monitor, enrolment."""
