"""From stored runs to answers: metrics, statistics, the leaderboard and the CI gate's rules."""
