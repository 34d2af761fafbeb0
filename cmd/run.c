/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

extern char **environ;

static const char run_usage[] =
	"Usage: dlock run [OPTIONS] NAME [--] COMMAND [ARG...]\n"
	"       dlock run [OPTIONS] NAME -c 'SHELL COMMAND'\n"
	"\n"
	"Take lock NAME, run COMMAND while a thread renews the lease, release\n"
	"the lock when COMMAND ends, and exit with COMMAND's status. The\n"
	"options come before NAME (-c may also follow it, as with flock).\n";

static const struct cmd_option run_options[] = {
	WAIT_OPTIONS,
	{ 'c', "command", "STRING",
	  "run STRING with $SHELL -c (else /bin/sh)", OPTION_AFTER_NAME },
	{ 'x', "exclusive", NULL, "exclusive lock (the default)", 0 },
	{ 's', "shared", NULL,
	  "shared lock: any number of -s holders at\n"
	  "once, but none while a -x holder runs", 0 },
	{ OPT_LIMIT, "limit", "N",
	  "counting semaphore: up to N holders at\n"
	  "once; every user of NAME must give the\n"
	  "same N", 0 },
	{ OPT_FIFO, "fifo", NULL,
	  "take turns in order of arrival (default)", 0 },
	{ OPT_NO_FIFO, "no-fifo", NULL,
	  "take the lock whenever it is free, ahead\n"
	  "of the queue", 0 },
	{ 'F', "no-fork", NULL,
	  "-F/--no-fork cannot work with dlock: dlock must stay alive to "
	  "renew the lease while the command runs", OPTION_REFUSED },
	/* flock's, for a lock file descriptor, which dlock does not have. */
	{ 'o', "close", NULL,
	  "flock's -o/--close has nothing to do with dlock: no lock "
	  "descriptor reaches the command; leave it out", OPTION_REFUSED },
	{ 'u', "unlock", NULL,
	  "flock's -u/--unlock has no dlock form: the lock is released when "
	  "COMMAND ends; to release it between steps of a script, use 'dlock "
	  "acquire' and 'dlock release'", OPTION_REFUSED },
	{ OPT_TTL, "ttl", "D", "lease, renewed every D/3 (default 30s)", 0 },
	{ OPT_ON_LOST, "on-lost", "SIGNAL",
	  "sent to the command's process group when\n"
	  "the lease is lost (default TERM)", 0 },
	{ OPT_KILL_AFTER, "kill-after", "D",
	  "SIGKILL that long after --on-lost\n"
	  "(default 10s)", 0 },
	{ OPT_LOST_EXIT_CODE, "lost-exit-code", "N",
	  "exit status after a lost lease (default 75)", 0 },
	{ OPT_MAX_HOLD, "max-hold", "D",
	  "stop renewing after D: the command gets\n"
	  "the lost-lease treatment", 0 },
	WAIT_REPLICAS_OPTION,
	{ OPT_LOCK_DELAY, "lock-delay", "D",
	  "keep an abandoned lock blocked D past its\n"
	  "lease (default: --kill-after + 2s); a\n"
	  "clean release frees it at once", 0 },
	{ 'q', "quiet", NULL,
	  "no message when the lock is busy or the\n"
	  "wait runs out, no status or waiting line,\n"
	  "no warnings about the settings", 0 },
	{ OPT_VERBOSE, "verbose", NULL,
	  "say who holds the lock, when it is taken\n"
	  "and released", 0 },
	OPTION_HELP,
	OPTIONS_END,
};

static const char run_notes[] =
	"Durations: 250ms, 1.5 (seconds), 30s, 5m, 2h, 1d, 1h30m. Without -n\n"
	"or -w, wait as long as it takes, in a queue; on a terminal, a status\n"
	"line shows the wait. Names: up to 200 letters, digits and\n"
	". _ - : / @ + =\n"
	"\n"
	"COMMAND gets DLOCK_NAME, DLOCK_TOKEN (a fencing token that grows with\n"
	"every new holder), DLOCK_OWNER and DLOCK_TTL_MS. Exit status: COMMAND's;\n"
	"128+N if it was killed by signal N; 1 (or -E) on conflict; 64 usage;\n"
	"69 server unreachable; 75 lease lost; 77 authentication; 78 config;\n"
	"126 cannot execute; 127 not found.\n";

int lock_operands(struct cmd_opts *o, int argc, char **argv)
{
	struct dlock_error err;

	if (o->limit && (o->mode == DLOCK_SHARED || o->exclusive_given))
		return usage_error("--limit makes a counting semaphore: it "
				   "cannot be combined with -s or -x");
	if (o->limit)
		o->mode = DLOCK_LIMIT;
	if (!o->ttl_ms)
		o->ttl_ms = DLOCK_DEFAULT_TTL_MS;
	if (argc < 1)
		return usage_error(o->acquire_only ? "acquire: no lock name "
				   "given; use 'dlock acquire NAME'" : "run: no "
				   "lock name given; use 'dlock run NAME "
				   "COMMAND'");
	o->name = argv[0];
	if (dlock_check_name(o->name, &err))
		return usage_error("%s", err.msg);
	return 0;
}

/* flock(1) takes "-c STRING" after the lock name too. */
static int late_shell_command(struct cmd_opts *o, int *argc, char ***argv)
{
	if (o->shell_command || *argc < 1 ||
	    (strcmp((*argv)[0], "-c") != 0 &&
	     strcmp((*argv)[0], "--command") != 0))
		return 0;
	if (*argc < 2)
		return usage_error("option '%s' needs a value", (*argv)[0]);
	o->shell_command = (*argv)[1];
	*argc -= 2;
	*argv += 2;
	if (*argc > 0)
		return usage_error("-c takes one string; quote the whole "
				   "shell command");
	return 0;
}

static int operands(struct cmd_opts *o, int argc, char **argv)
{
	const char *shell;
	int status = lock_operands(o, argc, argv);

	if (status)
		return status;
	argc--;
	argv++;
	status = late_shell_command(o, &argc, &argv);
	if (status)
		return status;
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	}
	if (!o->shell_command) {
		if (argc < 1)
			return usage_error("run: no command given after '%s'",
					   o->name);
		o->argv = argv;
		return 0;
	}
	if (argc > 0)
		return usage_error("give either -c STRING or a COMMAND, not "
				   "both");
	shell = getenv("SHELL");
	o->shell_argv[0] = (char *)(shell && *shell ? shell : "/bin/sh");
	o->shell_argv[1] = (char *)"-c";
	o->shell_argv[2] = (char *)o->shell_command;
	o->argv = o->shell_argv;
	return 0;
}

const struct cmd_syntax run_syntax = {
	.usage = run_usage,
	.options = run_options,
	.notes = run_notes,
	.operands = operands,
};

/* Signals that stop a wait, and are forwarded to the command. */
static const int stop_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
};

/* The one updating line a person at a terminal sees while dlock waits. */
static bool status_shown;

static void clear_status(void)
{
	if (status_shown)
		fputs("\r\033[K", stderr);
	status_shown = false;
}

static void show_status(void *arg, const struct dlock_wait_progress *p)
{
	struct winsize ws;
	int width = 80;
	char line[512];

	(void)arg;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col;
	if (p->place)
		snprintf(line, sizeof(line), "dlock: waiting %llds for '%s', "
			 "place %lld, held by %s",
			 (long long)(p->waited_ms / 1000), p->name, p->place,
			 p->holder);
	else
		snprintf(line, sizeof(line), "dlock: waiting %llds for '%s', "
			 "held by %s", (long long)(p->waited_ms / 1000),
			 p->name, p->holder);
	if (width - 1 < (int)sizeof(line))
		line[width - 1] = '\0';
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	status_shown = true;
}

/*
 * Without a terminal (cron, CI), a wait is said once when it starts and
 * then every LOG_WAIT_EVERY_MS, so a job log shows why a job sat idle.
 */
#define LOG_WAIT_EVERY_MS 60000

static void log_wait(void *arg, const struct dlock_wait_progress *p)
{
	int64_t *next_ms = arg;
	char place[48] = "";

	if (p->waited_ms < *next_ms)
		return;
	if (p->place)
		snprintf(place, sizeof(place), "; place %lld in the queue",
			 p->place);
	if (*next_ms == 0)
		errorf("waiting for lock '%s', held by %s%s", p->name,
		       p->holder, place);
	else
		errorf("still waiting for lock '%s' after %llds, held by %s%s",
		       p->name, (long long)(p->waited_ms / 1000), p->holder,
		       place);
	*next_ms = (p->waited_ms / LOG_WAIT_EVERY_MS + 1) * LOG_WAIT_EVERY_MS;
}

static void verbose_log(void *arg, const char *msg)
{
	(void)arg;
	clear_status();
	errorf("%s", msg);
}

/* The command line of our parent, for a lock taken by dlock acquire. */
static void parent_command_line(char *buf, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)getppid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(buf, size, "(dlock acquire)");
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

/* The command as other users see it in holder details. */
static void command_line(char **argv, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; *argv && n < size; argv++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "",
				      *argv);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* The signal that made the signalfd readable; 0 if none is pending. */
static int take_signal(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

struct supervision {
	const struct cmd_opts *opts;
	struct dlock *d;
	struct dlock_lock *lock;
	const struct dlock_lease_opts *lease_opts;
	struct dlock_child *child;
	struct dlock_lease *lease;
	int64_t lease_at;	/* when to start the lease; INT64_MAX: never */
	int sfd;
	bool lost;
	int64_t kill_at;	/* CLOCK_MONOTONIC ms of the SIGKILL, once lost */
};

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A poll(2) timeout that ends at CLOCK_MONOTONIC ms at. */
static int timeout_until(int64_t at)
{
	int64_t left = at - monotonic_ms();

	return left > 0 ? (int)left : 0;
}

/*
 * Starts the renewal thread, which a command that ends before it is due
 * never needed; the lease is counted from the take all the same. If it
 * cannot start, the command must not run on unrenewed: returns false
 * once its group is killed and the command reaped.
 */
static bool start_lease(struct supervision *s)
{
	struct dlock_error err;
	int status;

	s->lease_at = INT64_MAX;
	if (!dlock_lease_start(s->d, s->lock, s->lease_opts, &s->lease, &err))
		return true;
	errorf("%s; killing the command", err.msg);
	dlock_child_signal_group(s->child, SIGKILL);
	while (!dlock_child_poll(s->child, &status))
		poll(NULL, 0, 10);
	return false;
}

static void on_lease_lost(struct supervision *s)
{
	struct dlock_error err;

	if (s->lost || dlock_lease_check(s->lease, &err) == 0)
		return;
	s->lost = true;
	errorf("%s; stopping the command (SIG%s now, SIGKILL after %.3gs)",
	       err.msg, sigabbrev_np(s->opts->on_lost_signal),
	       (double)s->opts->kill_after_ms / 1000);
	dlock_child_signal_group(s->child, s->opts->on_lost_signal);
	s->kill_at = monotonic_ms() + s->opts->kill_after_ms;
}

/* How long to wait for a process group to die of SIGKILL. */
#define REAP_GRACE_MS 5000

/*
 * After a loss the whole process group must be gone before the lock can be
 * let go: what outlived the command gets until --kill-after, then SIGKILL.
 */
static void finish_lost_group(struct supervision *s)
{
	bool killed = s->kill_at == INT64_MAX;
	int64_t give_up = (killed ? monotonic_ms() : s->kill_at) +
			  REAP_GRACE_MS;

	while (dlock_child_group_alive(s->child) &&
	       monotonic_ms() < give_up) {
		if (!killed && monotonic_ms() >= s->kill_at) {
			dlock_child_signal_group(s->child, SIGKILL);
			killed = true;
		}
		poll(NULL, 0, 20);
	}
}

/* Forwards signals and watches the lease until the command ends. */
static int supervise(struct supervision *s)
{
	struct pollfd pfd[2] = {
		{ .fd = s->sfd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	int status;

	for (;;) {
		int timeout = -1, sig;

		if (s->lost)
			timeout = timeout_until(s->kill_at);
		else if (s->lease_at != INT64_MAX)
			timeout = timeout_until(s->lease_at);
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			/* Unsupervised, the command must not outlive us. */
			errorf("poll: %s; killing the command", strerror(errno));
			dlock_child_signal_group(s->child, SIGKILL);
			return -1;
		}
		if (s->lease_at != INT64_MAX && monotonic_ms() >= s->lease_at) {
			if (!start_lease(s))
				return -1;
			pfd[1].fd = dlock_lease_fd(s->lease);
		}
		if (s->lost && monotonic_ms() >= s->kill_at) {
			dlock_child_signal_group(s->child, SIGKILL);
			s->kill_at = INT64_MAX;
		}
		if (pfd[1].revents & POLLIN) {
			on_lease_lost(s);
			pfd[1].fd = -1;
		}
		while ((sig = take_signal(s->sfd)) > 0) {
			if (sig != SIGCHLD)
				dlock_child_signal(s->child, sig);
		}
		if (dlock_child_poll(s->child, &status)) {
			if (s->lost)
				finish_lost_group(s);
			return status;
		}
	}
}

static int status_of(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}

static int run_locked(const struct cmd_opts *o, struct dlock *d,
		      struct dlock_lock *lock, struct dlock_child *child,
		      int sfd, const sigset_t *run_set)
{
	struct dlock_lease_opts lopts = {
		.max_hold_ms = o->max_hold_ms,
		.log = o->verbose ? verbose_log : NULL,
	};
	struct supervision s = {
		.opts = o, .d = d, .lock = lock, .lease_opts = &lopts,
		.child = child, .lease_at = INT64_MAX, .sfd = sfd,
	};
	struct dlock_error err;
	char **env = NULL;
	int status, exec_errno;

	env = dlock_child_env(environ, lock);
	if (!env) {
		errorf("out of memory");
		status = EXIT_INTERNAL;
		goto out_release;
	}
	if (signalfd(sfd, run_set, 0) < 0) {
		errorf("signalfd: %s", strerror(errno));
		status = EXIT_INTERNAL;
		goto out_release;
	}
	if (dlock_child_spawn(child, o->argv, env, &exec_errno, &err)) {
		errorf("%s", err.msg);
		status = exec_errno == ENOENT ? EXIT_NOT_FOUND :
			 EXIT_CANNOT_EXEC;
		goto out_release;
	}
	/*
	 * The renewal thread starts once the command runs, and only when
	 * the lease has work for it: the command's vfork and exec did not
	 * wait for a thread to be made, and a command that ends within
	 * dlock_lease_start_in() needs none at all.
	 */
	if (!dlock_lock_is_reentrant(lock))
		s.lease_at = monotonic_ms() + dlock_lease_start_in(lock);
	status = supervise(&s);
	status = status < 0 ? EXIT_INTERNAL : status_of(status);
out_release:
	/* So that it dies while the release is in flight, not after. */
	dlock_child_dismiss(child);
	dlock_lease_stop(s.lease);
	dlock_env_free(env);
	/* The next holder is waiting: release before tidying up. */
	if (s.lost) {
		/*
		 * Still ours if --max-hold ended it, or if the server only
		 * went quiet; release compares the owner, so trying is safe.
		 */
		dlock_release(d, lock, &err);
		status = o->lost_status;
	} else if (dlock_release(d, lock, &err)) {
		if (err.code == DLOCK_ELOST) {
			errorf("%s", err.msg);
			status = o->lost_status;
		} else {
			errorf("warning: %s; the lock expires by itself "
			       "within its lease", err.msg);
		}
	} else if (o->verbose) {
		errorf("released lock '%s'", o->name);
	}
	return status;
}

/*
 * Blocks every signal we handle before any thread exists; they are read
 * from one signalfd, which while waiting reads only the stopping ones: a
 * terminal resize waits for the command. Returns the signalfd, or -1.
 */
static int block_signals(sigset_t *run_set)
{
	sigset_t wait_set, blocked;
	int sfd;

	sigemptyset(&wait_set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(int); i++)
		sigaddset(&wait_set, stop_signals[i]);
	*run_set = wait_set;
	sigaddset(run_set, SIGWINCH);
	sigaddset(run_set, SIGCHLD);
	blocked = *run_set;
	/* Taking the terminal back from the command's group. */
	sigaddset(&blocked, SIGTTOU);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	sfd = signalfd(-1, &wait_set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		errorf("signalfd: %s", strerror(errno));
	return sfd;
}

/* Says why the lock was not taken; returns the exit status. */
static int not_taken(const struct cmd_opts *o, int rc,
		     const struct dlock_error *err, int sfd)
{
	int sig;

	switch (rc) {
	case DLOCK_EBUSY:
		if (!o->quiet)
			errorf("%s; not waiting (-n)", err->msg);
		return o->conflict_status;
	case DLOCK_ETIMEDOUT:
		if (!o->quiet)
			errorf("%s (-w %.3gs)", err->msg,
			       (double)o->wait_ms / 1000);
		return o->conflict_status;
	case DLOCK_ECANCELED:
		sig = take_signal(sfd);
		if (o->verbose)
			errorf("SIG%s while waiting for lock '%s'; nothing "
			       "was run", sig ? sigabbrev_np(sig) : "?",
			       o->name);
		return 128 + sig;
	}
	errorf("%s", err->msg);
	return exit_status(rc);
}

/*
 * The safety rule (dlock(7), SAFETY): once the lease's local end has
 * passed, the command may run on for --kill-after before SIGKILL reaches
 * its group, so by default the server keeps the lock that long past the
 * lease, and a margin more for a loaded host to deliver the signal and
 * reap the group (consul pairs a 5 s kill with a 15 s lock-delay). A
 * clean release frees the lock at once; only an abandoned lock pays.
 * acquire has no command to stop: the caller's script is its own.
 */
#define KILL_MARGIN_MS 2000

static int64_t lock_delay(const struct cmd_opts *o)
{
	if (o->lock_delay_ms >= 0)
		return o->lock_delay_ms;
	return o->acquire_only ? 0 : o->kill_after_ms + KILL_MARGIN_MS;
}

/*
 * Takes the lock as o says, waiting if it must, with stop signals read
 * from sfd. Returns true with *lock, or false with the exit status in
 * *status (which -E may make 0).
 */
static bool take_lock(const struct cmd_opts *o, struct dlock *d, int sfd,
		      struct dlock_lock **lock, int *status)
{
	struct dlock_acquire_opts aopts = {
		.ttl_ms = o->ttl_ms,
		.lock_delay_ms = lock_delay(o),
		.wait_ms = o->wait_ms,
		/*
		 * A token printed by acquire must be its own: releasing an
		 * inherited one would free the outer run's lock.
		 */
		.inherited_owner = o->acquire_only ? NULL :
				   getenv("DLOCK_OWNER"),
		.no_fifo = o->no_fifo,
		.keeps_alive = !o->acquire_only,
		.mode = o->mode,
		.limit = o->limit,
	};
	struct dlock_error err;
	struct timespec start;
	char cmdline[1024];
	int64_t next_wait_log_ms = 0;
	int rc, sig;

	if (o->verbose)
		dlock_set_log(d, verbose_log, NULL);
	if (!o->quiet && isatty(STDERR_FILENO))
		dlock_set_progress(d, show_status, NULL);
	else if (!o->quiet && !o->verbose)
		dlock_set_progress(d, log_wait, &next_wait_log_ms);
	dlock_set_cancel_fd(d, sfd);
	if (o->acquire_only) {
		/* The lock belongs to the script that called us. */
		aopts.holder_pid = (long)getppid();
		parent_command_line(cmdline, sizeof(cmdline));
	} else {
		command_line(o->argv, cmdline, sizeof(cmdline));
	}
	aopts.command_line = cmdline;

	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = dlock_acquire(d, o->name, &aopts, lock, &err);
	clear_status();
	if (rc) {
		*status = not_taken(o, rc, &err, sfd);
		return false;
	}
	/* A stop that came while the winning request was in flight. */
	sig = take_signal(sfd);
	if (sig) {
		if (o->verbose)
			errorf("SIG%s while taking lock '%s'; released it, "
			       "nothing was run", sigabbrev_np(sig), o->name);
		dlock_release(d, *lock, &err);
		*status = 128 + sig;
		return false;
	}
	if (o->verbose && !o->acquire_only) {
		if (dlock_lock_is_reentrant(*lock))
			errorf("lock '%s' is already held by this process "
			       "tree; running at once", o->name);
		else
			errorf("took lock '%s' in %.3fs (token %s, lease "
			       "%.3gs)", o->name, seconds_since(&start),
			       dlock_lock_fence(*lock),
			       (double)o->ttl_ms / 1000);
	}
	return true;
}

/* dlock acquire: the lock stays held, for the caller's owner token. */
static int hand_over(const struct cmd_opts *o, struct dlock *d,
		     struct dlock_lock *lock)
{
	struct dlock_error err;
	int saved;

	if (o->verbose)
		errorf("took lock '%s' (token %s, lease %.3gs, not renewed: "
		       "use dlock renew)", o->name, dlock_lock_fence(lock),
		       (double)o->ttl_ms / 1000);
	printf("%s\n", dlock_lock_owner(lock));
	if (fflush(stdout) == 0 && !ferror(stdout)) {
		dlock_lock_free(lock);
		return 0;
	}
	/* Nobody got the token, so nobody could ever release the lock. */
	saved = errno;
	if (dlock_release(d, lock, &err))
		errorf("cannot write the owner token (%s), and releasing lock "
		       "'%s' failed: %s", strerror(saved), o->name, err.msg);
	else
		errorf("cannot write the owner token (%s): released lock '%s' "
		       "again", strerror(saved), o->name);
	return EXIT_WRITE;
}

int cmd_run(const struct cmd_opts *o, struct dlock_config *cfg,
	    struct dlock *d)
{
	struct dlock_child *child = NULL;
	struct dlock_lock *lock = NULL;
	struct dlock_error err;
	sigset_t run_set;
	int sfd, status;

	(void)cfg;	/* the lease borrows the client's session instead */
	sfd = block_signals(&run_set);
	if (sfd < 0)
		return EXIT_INTERNAL;
	/* The guard is forked now, so that none waits once we hold the lock. */
	if (!o->acquire_only && dlock_child_prepare(&child, &err)) {
		errorf("%s", err.msg);
		close(sfd);
		return EXIT_INTERNAL;
	}
	if (take_lock(o, d, sfd, &lock, &status))
		status = o->acquire_only ? hand_over(o, d, lock) :
			 run_locked(o, d, lock, child, sfd, &run_set);
	dlock_child_free(child);
	close(sfd);
	return status;
}
