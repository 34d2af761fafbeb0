/* SPDX-License-Identifier: MIT */
/*
 * dlock: named locks held in a lock service (one Redis server in this
 * version), kept alive by a lease while a command runs.
 *
 * The library never prints, never exits and changes no process-wide
 * state (signal dispositions, globals). Every function that can fail
 * returns 0 or a negative DLOCK_E* code; the message goes into a
 * struct dlock_error the caller owns.
 *
 * The handles (struct dlock_config, dlock, dlock_lock, dlock_lease,
 * dlock_child) are opaque. The structs declared in full here (errors,
 * acquire options, status, wait progress, doctor reports) are plain data
 * that the caller fills in or reads.
 *
 * Thread safety: a struct dlock and the locks it returns belong to one
 * thread at a time. A struct dlock_lease runs a thread of its own on the
 * client's session, which it borrows until dlock_lease_stop(); the lease
 * functions may be called from the thread that started it. The pure
 * parsers and dlock_strerror() are thread-safe.
 */
#ifndef DLOCK_H
#define DLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLOCK_VERSION "0.1.0"

enum dlock_code {
	DLOCK_OK = 0,
	DLOCK_EUSAGE = -1,	/* bad input from the caller */
	DLOCK_ECONFIG = -2,	/* bad URL, config file or password file */
	DLOCK_ECONN = -3,	/* server unreachable, or the connection broke */
	DLOCK_EAUTH = -4,	/* authentication or ACL refused */
	DLOCK_EBUSY = -5,	/* the lock is held by someone else */
	DLOCK_ETIMEDOUT = -6,	/* the caller's wait ran out */
	DLOCK_ECANCELED = -7,	/* the cancel descriptor became readable */
	DLOCK_ELOST = -8,	/* the lock is no longer ours */
	DLOCK_ESERVER = -9,	/* the server refused (READONLY, OOM, ...) */
	DLOCK_ESYS = -10,	/* a system call failed */
	DLOCK_ENOMEM = -11,
};

#define DLOCK_ERRMSG_MAX 512

/* A failure: the code and a message fit to print after "dlock: ". */
struct dlock_error {
	int code;
	char msg[DLOCK_ERRMSG_MAX];
};

/* Longest lock name, in bytes. */
#define DLOCK_NAME_MAX 200
/* Longest key prefix, in bytes. */
#define DLOCK_PREFIX_MAX 64

/* Default lease, in milliseconds. */
#define DLOCK_DEFAULT_TTL_MS 30000
/* Default deadline for connecting and for each request, in milliseconds. */
#define DLOCK_DEFAULT_CONNECT_TIMEOUT_MS 3000

/*
 * Parses a duration: "250ms", "1.5" (seconds, as flock), "30s", "5m", "2h",
 * "1d", or a combination from the largest unit to the smallest, each unit
 * once and a decimal part only on the last number: "1h30m", "1d12h",
 * "1m30.5s" (as Go and systemd). At most a year; a fraction of a
 * millisecond rounds up. Stores milliseconds in *ms. Zero is accepted only
 * when allow_zero is set.
 * Returns 0, or DLOCK_EUSAGE with a message naming the value. Thread-safe.
 */
int dlock_parse_duration(const char *text, bool allow_zero, int64_t *ms,
			 struct dlock_error *err);

/*
 * Parses a non-negative decimal integer no larger than max.
 * Returns 0, or DLOCK_EUSAGE naming the value. Thread-safe.
 */
int dlock_parse_uint(const char *text, long max, long *value,
		     struct dlock_error *err);

/*
 * Parses a signal: a name with or without "SIG" ("TERM", "sigkill") or a
 * number. Returns 0, or DLOCK_EUSAGE naming the value. Thread-safe.
 */
int dlock_parse_signal(const char *text, int *sig, struct dlock_error *err);

/*
 * Checks a lock name: 1 to DLOCK_NAME_MAX bytes of letters, digits and
 * ". _ - : / @ + =", not starting with "-". Returns 0 or DLOCK_EUSAGE.
 * Thread-safe.
 */
int dlock_check_name(const char *name, struct dlock_error *err);

/* Settings, resolved from options, environment, config file and defaults. */
struct dlock_config;

/* Returns an empty config, or NULL when out of memory. */
struct dlock_config *dlock_config_new(void);

/* Frees a config and wipes any password it held. NULL is allowed. */
void dlock_config_free(struct dlock_config *cfg);

/*
 * Sets a key from the command line, which beats every other source.
 * Keys are those of the config file: "url" (may be given several times),
 * "prefix", "connect-timeout", "user", "password-file", "sentinel-user",
 * "sentinel-password-file", and "config" (the file to read); and
 * "wait-replicas" (replicas that must confirm a take or renewal, 0 to
 * 1000; by default 1 through Sentinel when the master has one, else 0).
 * Returns 0 or DLOCK_EUSAGE for an unknown key or bad value.
 */
int dlock_config_set_option(struct dlock_config *cfg, const char *key,
			    const char *value, struct dlock_error *err);

/*
 * Fills every key not set by an option from the environment, then the
 * config file, then the defaults, and validates the result: URLs parsed,
 * password file read. The server has no default. Returns 0,
 * DLOCK_ECONFIG (no server, bad URL, file or key; a bad value in the file
 * is named as "FILE:LINE: key: ..."), DLOCK_EUSAGE (bad value from the
 * environment) or DLOCK_ENOMEM.
 */
int dlock_config_resolve(struct dlock_config *cfg, struct dlock_error *err);

/* Number of server URLs after resolution. */
size_t dlock_config_url_count(const struct dlock_config *cfg);

/*
 * The URL at index i, password masked, for messages. Valid while cfg lives.
 */
const char *dlock_config_url_display(const struct dlock_config *cfg,
				     size_t i);

/* Deadline for connecting and for each request, in milliseconds. */
int64_t dlock_config_connect_timeout(const struct dlock_config *cfg);

/*
 * Warnings found while resolving (for example a password on the command
 * line), one per index, NULL past the end. Valid while cfg lives.
 */
const char *dlock_config_warning(const struct dlock_config *cfg, size_t i);

/*
 * Notes for --verbose, found while resolving: which config file was read,
 * a system config file skipped because the user may not read it, a url
 * line ignored. One per index, NULL past the end. Valid while cfg lives.
 */
const char *dlock_config_note(const struct dlock_config *cfg, size_t i);

/*
 * A client: a session with the lock service the settings name, whose
 * connections are opened on first use.
 */
struct dlock;

/* Receives progress messages (waits, retries); must be thread-safe. */
typedef void dlock_log_fn(void *arg, const char *msg);

/*
 * Makes a client on cfg, which must be resolved and must outlive it, and
 * stores it in *out. No connection is made yet. Returns 0; DLOCK_EUSAGE
 * when the settings name no lock service this version can use (two URLs:
 * a quorum needs three or more); or DLOCK_ENOMEM.
 */
int dlock_new(const struct dlock_config *cfg, struct dlock **out,
	      struct dlock_error *err);

/* Closes the connections and frees the client. NULL is allowed. */
void dlock_free(struct dlock *d);

/* Sends progress messages to fn; NULL turns them off. */
void dlock_set_log(struct dlock *d, dlock_log_fn *fn, void *arg);

/* Where a wait stands, for a status line. */
struct dlock_wait_progress {
	const char *name;
	const char *holder;	/* who holds the lock, for people */
	long long place;	/* in the queue, from 1; 0 when unknown */
	int64_t waited_ms;
};

/* Receives progress while dlock_acquire() waits. */
typedef void dlock_progress_fn(void *arg,
			       const struct dlock_wait_progress *progress);

/*
 * Calls fn after every look at the lock and about every second while
 * blocked; NULL turns it off. The reports cost the server nothing.
 */
void dlock_set_progress(struct dlock *d, dlock_progress_fn *fn, void *arg);

/*
 * While waiting for a lock, a readable cancel_fd makes the wait return
 * DLOCK_ECANCELED. A request already sent is always finished first, so a
 * cancelled wait never leaves a lock behind. -1 turns it off.
 */
void dlock_set_cancel_fd(struct dlock *d, int cancel_fd);

/* Connects and authenticates now. Returns 0 or a DLOCK_E* code. */
int dlock_connect(struct dlock *d, struct dlock_error *err);

/* A held lock. */
struct dlock_lock;

struct dlock_acquire_opts {
	int64_t ttl_ms;		/* the lease */
	/*
	 * How much longer the server keeps the key of an abandoned lock
	 * (Chubby's lock-delay); a clean release frees it at once.
	 */
	int64_t lock_delay_ms;
	int64_t wait_ms;	/* 0: do not wait; negative: wait forever */
	/*
	 * The owner token the calling process runs under (DLOCK_OWNER from
	 * the environment), or NULL. When the server says that token holds
	 * the lock, acquisition succeeds at once and the lock is re-entrant:
	 * it is neither renewed nor released by this holder.
	 */
	const char *inherited_owner;
	const char *command_line;	/* shown to other users; may be NULL */
	/*
	 * Whether the caller keeps the lease alive with dlock_lease_start(),
	 * as dlock run does; other users are told so. false: only
	 * dlock_renew_owner() renews it, as for dlock acquire.
	 */
	bool keeps_alive;
	long holder_pid;	/* shown to other users; 0: our own */
	/*
	 * Take the lock whenever it is free, ahead of the queue, instead of
	 * waiting for our turn.
	 */
	bool no_fifo;
	/*
	 * DLOCK_EXCLUSIVE (the default, 0), DLOCK_SHARED (any number of
	 * shared holders, no exclusive one), or DLOCK_LIMIT (up to limit
	 * holders: a counting semaphore). Every user of a name must use it
	 * as the same kind; a mismatch while it is held is DLOCK_EUSAGE.
	 */
	int mode;
	long limit;
};

enum { DLOCK_EXCLUSIVE, DLOCK_SHARED, DLOCK_LIMIT };

/* The largest --limit. */
#define DLOCK_LIMIT_MAX 100000

/*
 * Takes lock name, waiting as opts says: in a FIFO queue, woken by the
 * release of the holder ahead, sending a heartbeat every 2 s. A request
 * the lock service cannot honour (a kind of lock, --lock-delay) is
 * refused with DLOCK_EUSAGE before anything is sent. On success stores
 * the lock in *out. Returns 0; DLOCK_EBUSY when not waiting and the lock
 * is held; DLOCK_ETIMEDOUT when the wait ran out; DLOCK_ECANCELED; or a connection,
 * authentication or server error. A wait without a deadline rides out
 * connection failures after the first successful connection, retrying with
 * backoff; a wait with a deadline does so until the deadline.
 */
int dlock_acquire(struct dlock *d, const char *name,
		  const struct dlock_acquire_opts *opts,
		  struct dlock_lock **out, struct dlock_error *err);

/*
 * Releases the lock if it is still ours and frees it; a re-entrant lock is
 * only freed. Returns 0, DLOCK_ELOST when the server no longer had it as
 * ours, or a connection error (the lock then expires with its lease).
 */
int dlock_release(struct dlock *d, struct dlock_lock *lock,
		  struct dlock_error *err);

/* Frees the lock without telling the server. NULL is allowed. */
void dlock_lock_free(struct dlock_lock *lock);

/* The owner token: 32 hex digits from getrandom(2). */
const char *dlock_lock_owner(const struct dlock_lock *lock);

/* The fencing token: strictly increasing across successive holders. */
const char *dlock_lock_fence(const struct dlock_lock *lock);

/* True when the lock was held already by the calling process tree. */
bool dlock_lock_is_reentrant(const struct dlock_lock *lock);

/* Who renews a holder's lease, as it said when it took the lock. */
enum dlock_renewal {
	DLOCK_RENEWAL_UNKNOWN,	/* not recorded: not dlock, or older */
	DLOCK_RENEWAL_HOLDER,	/* its holder renews it (dlock run) */
	DLOCK_RENEWAL_BY_TOKEN,	/* only dlock renew (dlock acquire) */
};

/* One holder of a lock, as the server records it. */
struct dlock_holder {
	char *owner;
	char *host;		/* NULL when the holder left no details */
	long pid;
	char *user;
	char *command;
	char *token;		/* the fencing token, DLOCK_TOKEN */
	char *mode;		/* "exclusive", "shared" or "limit N" */
	int64_t since_ms;	/* epoch ms on the server's clock; -1: unknown */
	int64_t expires_ms;	/* when the server lets it go; -1: never */
	int64_t ttl_ms;		/* the lease; -1: unknown */
	int64_t lock_delay_ms;
	int renewal;		/* enum dlock_renewal */
};

/* What the server says about a lock. */
struct dlock_status {
	char *name;
	bool held;
	int kind;		/* DLOCK_EXCLUSIVE, DLOCK_SHARED or DLOCK_LIMIT */
	long limit;
	size_t nholders;
	struct dlock_holder *holders;
	long long waiters;
	char *first_waiter;	/* its owner token, or NULL */
	int first_waiter_kind;
	/*
	 * What the first waiter says of itself: host, pid, user, command,
	 * and in since_ms when it joined the queue (the other fields are
	 * unset); NULL when it left no details.
	 */
	struct dlock_holder *first_waiter_details;
	int64_t server_now_ms;	/* the server's clock when it answered */
	/*
	 * The holder stopped renewing, and --lock-delay keeps the lock
	 * blocked until blocked_until_ms.
	 */
	bool lock_delay_in_force;
	int64_t blocked_until_ms;
};

/*
 * Reads lock name in one round trip, changing nothing. Returns 0 with
 * *out (free with dlock_status_free()), or a DLOCK_E* code.
 */
int dlock_status_get(struct dlock *d, const char *name,
		     struct dlock_status **out, struct dlock_error *err);

/*
 * Every held lock whose name matches glob (NULL: all) under the prefix,
 * sorted by name, found with SCAN (never KEYS) and read in pipelined
 * batches. Returns 0 with *out and *count (free each entry with
 * dlock_status_free() and the array with free()), or a DLOCK_E* code.
 */
int dlock_list(struct dlock *d, const char *glob, struct dlock_status ***out,
	       size_t *count, struct dlock_error *err);

/* Frees a status. NULL is allowed. */
void dlock_status_free(struct dlock_status *st);

/*
 * Renews the lease of owner on lock name, for ttl_ms plus the lock delay
 * it was taken with (0: the lease it was taken with), which
 * dlock_status_get() then reports. Returns 0, or
 * DLOCK_ELOST when owner does not hold it (expired, wrong token, taken
 * over), or a connection error.
 */
int dlock_renew_owner(struct dlock *d, const char *name, const char *owner,
		      int64_t ttl_ms, struct dlock_error *err);

/*
 * Releases lock name if owner holds it. Returns 0, DLOCK_ELOST when it
 * does not, or a connection error.
 */
int dlock_release_owner(struct dlock *d, const char *name, const char *owner,
			struct dlock_error *err);

/*
 * Removes every holder of lock name, whoever it is, and wakes the first
 * waiter; the evicted holders find out at their next renewal. Returns 0
 * with the evicted holders in *evicted (free with dlock_status_free()),
 * or a DLOCK_E* code.
 */
int dlock_force_release(struct dlock *d, const char *name,
			struct dlock_status **evicted,
			struct dlock_error *err);

/* Checks a glob for dlock list: name characters and * ? [ ] only. */
int dlock_check_glob(const char *glob, struct dlock_error *err);

/* Keeps a lock alive from a thread of its own. */
struct dlock_lease;

struct dlock_lease_opts {
	/* Stop renewing this long after the lock was taken; 0: never. */
	int64_t max_hold_ms;
	dlock_log_fn *log;	/* retries; may be NULL */
	void *log_arg;
};

/*
 * Starts renewing lock every ttl/3 from a thread of its own, and at once
 * when the connection breaks (a server that restarted is found as soon as
 * it is back), on the client's session, which the thread has until
 * dlock_lease_stop(): d may not be used meanwhile (its calls fail with
 * DLOCK_EUSAGE), and must outlive the lease. The lease is lost when no
 * renewal has succeeded by its local end (which falls before the server's
 * expiry), when the server says the lock is not ours, or at max_hold_ms.
 * The lock must stay alive until dlock_lease_stop(). Returns 0 or a
 * DLOCK_E* code.
 */
int dlock_lease_start(struct dlock *d, struct dlock_lock *lock,
		      const struct dlock_lease_opts *opts,
		      struct dlock_lease **out, struct dlock_error *err);

/*
 * How long dlock_lease_start() may wait, in ms from now: the thread's
 * first request (a watch of the connection, before any renewal) is due
 * then, so a command that ends sooner needs no thread at all. 0: start
 * it now. Thread-safe.
 */
int dlock_lease_start_in(const struct dlock_lock *lock);

/*
 * A descriptor that becomes readable once the lease is lost, for poll(2).
 */
int dlock_lease_fd(const struct dlock_lease *lease);

/*
 * Returns 0 while the lease holds, or DLOCK_ELOST with the reason and the
 * time of the last successful renewal in err.
 */
int dlock_lease_check(struct dlock_lease *lease, struct dlock_error *err);

/*
 * Stops renewing, joins the thread, gives the session back to the client
 * and frees the lease. NULL is allowed.
 */
void dlock_lease_stop(struct dlock_lease *lease);

/* The command run under a lock. */
struct dlock_child;

/*
 * Returns the environment for the command: envp without DLOCK_PASSWORD,
 * plus DLOCK_NAME, DLOCK_TOKEN, DLOCK_OWNER and DLOCK_TTL_MS for lock
 * (a re-entrant lock keeps those of the outer holder). NULL when out of
 * memory. Free with dlock_env_free().
 */
char **dlock_child_env(char *const envp[], const struct dlock_lock *lock);

/* Frees what dlock_child_env() returned. NULL is allowed. */
void dlock_env_free(char **env);

/*
 * Starts the guard for a command yet to run: a small process that leads
 * the process group the command will run in and, should dlock die, kills
 * that whole group. Call before the lock is taken, with every signal dlock
 * handles blocked, so that starting it costs nothing once the lock is
 * held (and happens while dlock has one thread). Returns 0 with *out, or an
 * error. Free with dlock_child_free(), whether or not a command ran.
 */
int dlock_child_prepare(struct dlock_child **out, struct dlock_error *err);

/*
 * Runs argv (searched in PATH) with envp in child's process group, which
 * gets the terminal when dlock has it, with an empty signal mask. Should
 * dlock die first, the command gets SIGKILL, and so does its whole process
 * group, from the guard. Call once, with every signal dlock handles
 * blocked. Returns 0; or DLOCK_ESYS with *exec_errno set to the reason the
 * command could not be executed (0 when it was not even started).
 */
int dlock_child_spawn(struct dlock_child *child, char *const argv[],
		      char *const envp[], int *exec_errno,
		      struct dlock_error *err);

/* Sends sig to the command itself. Returns 0 or DLOCK_ESYS. */
int dlock_child_signal(struct dlock_child *child, int sig);

/* Sends sig to the command's whole process group. Returns 0 or DLOCK_ESYS. */
int dlock_child_signal_group(struct dlock_child *child, int sig);

/*
 * Whether any process other than dlock's guard is left in the command's
 * process group, such as a grandchild that outlived the command.
 */
bool dlock_child_group_alive(const struct dlock_child *child);

/*
 * Collects the command's state after a SIGCHLD. Returns 1 with the wait(2)
 * status in *status once it has ended, 0 while it runs. When the command is
 * stopped from the terminal (^Z), dlock hands the terminal back and stops
 * itself, so the shell sees the job stop; once continued, it continues the
 * command.
 */
int dlock_child_poll(struct dlock_child *child, int *status);

/*
 * Dismisses the guard, which then never kills the command's process group:
 * call once the command has ended (after a loss, once its group is dead),
 * so that the guard dies while the lock is being released, and
 * dlock_child_free() only reaps it. NULL is allowed.
 */
void dlock_child_dismiss(struct dlock_child *child);

/*
 * Frees the child record, dismisses the guard that would kill the
 * command's process group if dlock died (unless dlock_child_dismiss() has)
 * and reaps it. Call once the command has ended, or when none was
 * spawned. NULL is allowed.
 */
void dlock_child_free(struct dlock_child *child);

/* ---- dlock doctor: is a server fit to hold dlock's locks? ---- */

enum dlock_doctor_level {
	DLOCK_DOCTOR_OK,	/* as dlock needs it */
	DLOCK_DOCTOR_NOTE,	/* could not be told, or worth knowing */
	DLOCK_DOCTOR_WARN,	/* a problem; the text says what to do */
	DLOCK_DOCTOR_FAIL,	/* dlock cannot work; the text says why */
};

/* One line of the report. */
struct dlock_doctor_check {
	int level;		/* enum dlock_doctor_level */
	char what[64];		/* what was checked: "latency", "role", ... */
	char text[DLOCK_ERRMSG_MAX];	/* the finding, fit to print */
};

#define DLOCK_DOCTOR_MAX_CHECKS 16

/* The findings about one server, in the order they were made. */
struct dlock_doctor_report {
	size_t count;
	struct dlock_doctor_check checks[DLOCK_DOCTOR_MAX_CHECKS];
};

/*
 * Checks the server at URL number index of cfg (which must be resolved):
 * connection and authentication, latency (the median of 5 PINGs), server
 * version and mode, replication role, persistence, maxmemory-policy,
 * cluster mode, and whether the user may run the acquire, renew, release
 * and leave scripts on a probe lock under the key prefix (whose keys it
 * deletes afterwards). Every finding goes into *report, which is cleared
 * first.
 *
 * Returns 0 when the server was reached and the checks ran, whatever they
 * found (see dlock_doctor_problems()). Returns DLOCK_ECONN when the server
 * could not be reached or stopped answering, DLOCK_EAUTH when it refused
 * the credentials, DLOCK_ECONFIG for a setting it rejects (a database
 * number), DLOCK_EUSAGE when cfg is not resolved or has no URL number
 * index, or DLOCK_ENOMEM/DLOCK_ESYS; the report then ends with a
 * DLOCK_DOCTOR_FAIL check, and err holds the message.
 *
 * Thread-safe: it uses a connection of its own; report and err must not be
 * shared.
 */
int dlock_doctor_run(const struct dlock_config *cfg, size_t index,
		     struct dlock_doctor_report *report,
		     struct dlock_error *err);

/*
 * Returns the number of problems in report: its DLOCK_DOCTOR_WARN and
 * DLOCK_DOCTOR_FAIL checks. Thread-safe.
 */
size_t dlock_doctor_problems(const struct dlock_doctor_report *report);

/*
 * Returns a static, lower-case word for a level ("ok", "note", "warn",
 * "fail"), "?" for an unknown one. Thread-safe.
 */
const char *dlock_doctor_level_name(int level);

/* Returns a static description of a DLOCK_E* code. Thread-safe. */
const char *dlock_strerror(int code);

#endif
