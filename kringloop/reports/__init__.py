"""Reports that close the loop: NPS, loop health, adopted customers, metrics (queries and
arithmetic, no web). The period a reader asks for is in periods.py, NPS per group in nps.py, each
team's loop health in loop_health.py, adopted customers in adopted.py, the same figures as rows
for CSV files and the terminal in rows.py.

Decisions a reader of the figures should know:
- Only first answers count toward NPS. A re-survey answer (`source == "resurvey"`) is asked at a
  different moment, of detractors only, after we called them: counting it would flatter the
  score. Re-surveys are used for recovery in the loop health.
- NPS and percentages are whole numbers from the exact counts, halves away from zero
  (+12.5 becomes +13, -12.5 becomes -13). NPS is not "rounded % promoters - rounded %
  detractors", which can be one off.
- A response belongs to the team that owns it: the team its case went to, and for a response
  without a case (most are promoters and passives) the team today's routing rules would give it
  (an adopted customer to the adopter's team). So a team's NPS covers everyone it is there for,
  not only the people it called.
- Days, ISO weeks and calendar months are UTC days, weeks and months.
- A group with fewer answers than the organisation's minimum (k) is hidden, and so are more
  groups, smallest first, until the hidden ones together have at least k answers: the overall
  minus the groups shown is what the hidden ones add up to.
- Every figure is over the answers its reader may see: a member's (their teams' answers, in
  every grouping, the overall and the trend), an admin's (all). Two members of different teams
  see disjoint answers, so neither view can be subtracted from the other. What a report by team
  hides is decided on all teams, as an admin sees it, and a member's overall (in any grouping)
  is hidden, with all its groups, when their team is hidden there: otherwise a team hidden only
  to protect a smaller one (complementary suppression) would be the member's overall, and the
  admin's total minus the teams shown minus it would be the small team. An admin's figure for a
  segment or week minus one team's figure for it is the other teams' share, which may be under
  k: that needs an admin's view, who reads every team's figures, and is accepted.
- eNPS (program "employee") cannot be subtracted at all: a report covers exactly one calendar
  month, never a range of days ((11-12 March) - (11 March) would be one colleague), each month is
  hidden on its own, and it is grouped by department (segment) only, since a second way of
  splitting the same month could single out a department hidden for being small. Its loop rows
  are the cases of that month's answers, left out for a team whose answers are hidden.
  Only a month that has ended is shown: one still in progress grows as answers come in, and
  what it showed yesterday and shows today would differ by the few answers in between. The
  figures of a finished month no longer change.
"""
