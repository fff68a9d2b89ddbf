#!/bin/sh
# kill -9 of `ddbsim run` over RabbitMQ at random moments; `ddbsim drain`
# then brings the center to exactly the orders the regions accepted.  What
# the killed process had published stays in the durable queues, what it had
# received and not acked goes back to them (the broker sees its connection
# die), and drain applies both: nothing lost, nothing twice.
# KILL_ROUNDS (default 3) sets how many times.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"

rounds=${KILL_ROUNDS:-3}
scenario="$top_srcdir/tests/integration/data/kill.lua"

# How long a run takes: the shorter of two (the first one meets a cold
# broker), so that the kills below land while a run is still going.
full_ms=0
for warm in 1 2; do
	start=$(date +%s%N)
	ddbsim run -c "$RMQ_CONF" "$scenario" -q
	expect_rc 0 "uninterrupted run over RabbitMQ"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$full_ms" -ne 0 ] && [ "$full_ms" -le "$ms" ] || full_ms=$ms
done
echo "a whole run takes ${full_ms} ms"

i=1
mid_run=0
in_setup=0
left_in_queue=0
while [ "$i" -le "$rounds" ]; do
	r16=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	delay_ms=$((200 + r16 * (full_ms * 3 / 4) / 65536))
	kill_run "$RMQ_CONF" "$scenario" "$i" "$delay_ms"
	held=$(broker_queues | awk '$1 ~ /^sync\./ { n += $2 } END { print n + 0 }')
	[ "$held" -eq 0 ] || left_in_queue=$((left_in_queue + 1))
	if ! drain_killed "$RMQ_CONF" "$i" "$delay_ms"; then
		in_setup=$((in_setup + 1))
		i=$((i + 1))
		continue
	fi
	regions_match_center "$i"
	q=$(broker_queues | awk '$1 ~ /^sync\./ { printf "%s=%s ", $1, $2 }')
	[ "$q" = "sync.central=0 sync.documents=0 " ] || fail "round $i: after drain, broker queues: $q"
	echo "round $i: killed after $delay_ms ms with $held messages in the sync queues;" \
		"drain: $regional orders in the regions, $central at the center"
	i=$((i + 1))
done
[ "$mid_run" -gt 0 ] || fail "no kill landed while a run was going"
[ "$in_setup" -lt "$rounds" ] || fail "every kill landed during the setup"
pass "$rounds kills ($mid_run mid-run, $in_setup during the setup, refused; $left_in_queue with messages left in the broker); drain restored every other one"
