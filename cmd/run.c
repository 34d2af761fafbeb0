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

const char run_help[] =
	"Usage: dlock run [OPTIONS] NAME [--] COMMAND [ARG...]\n"
	"       dlock run [OPTIONS] NAME -c 'SHELL COMMAND'\n"
	"\n"
	"Take lock NAME, run COMMAND while a thread renews the lease, release\n"
	"the lock when COMMAND ends, and exit with COMMAND's status.\n"
	"\n"
	"Options:\n"
	"  -n, --nonblock, --nb      fail at once if the lock is held (exit 1)\n"
	"  -w, --timeout D           wait at most D for the lock (exit 1 after)\n"
	"                            (also --wait); 0 is the same as -n\n"
	"  -E, --conflict-exit-code N  exit status for -n and -w (default 1)\n"
	"  -c, --command STRING      run STRING with $SHELL -c (else /bin/sh)\n"
	"  -x, --exclusive           exclusive lock (the default)\n"
	"  -s, --shared              shared lock: any number of -s holders at\n"
	"                            once, but none while a -x holder runs\n"
	"      --limit N             counting semaphore: up to N holders at\n"
	"                            once; every user of NAME must give the\n"
	"                            same N\n"
	"      --fifo                take turns in order of arrival (default)\n"
	"      --no-fifo             take the lock whenever it is free, ahead\n"
	"                            of the queue\n"
	"      --ttl D               lease, renewed every D/3 (default 30s)\n"
	"      --on-lost SIGNAL      sent to the command's process group when\n"
	"                            the lease is lost (default TERM)\n"
	"      --kill-after D        SIGKILL that long after --on-lost\n"
	"                            (default 10s)\n"
	"      --lost-exit-code N    exit status after a lost lease (default 75)\n"
	"      --max-hold D          stop renewing after D: the command gets\n"
	"                            the lost-lease treatment\n"
	"      --lock-delay D        keep an abandoned lock blocked D past its\n"
	"                            lease; a clean release frees it at once\n"
	"  -q, --quiet               no message when the lock is busy or the\n"
	"                            wait runs out, no status line\n"
	"      --verbose             say who holds the lock, when it is taken\n"
	"                            and released\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Durations: 250ms, 1.5 (seconds), 30s, 5m, 2h. Without -n or -w, wait\n"
	"as long as it takes, in a queue; on a terminal, a status line shows\n"
	"the wait. Names: up to 200 letters, digits and . _ - : / @ + =\n"
	"\n"
	"COMMAND gets DLOCK_NAME, DLOCK_TOKEN (a fencing token that grows with\n"
	"every new holder), DLOCK_OWNER and DLOCK_TTL_MS. Exit status: COMMAND's;\n"
	"128+N if it was killed by signal N; 1 (or -E) on conflict; 64 usage;\n"
	"69 server unreachable; 75 lease lost; 77 authentication; 78 config;\n"
	"126 cannot execute; 127 not found.\n";


/* Signals that stop a wait, and are forwarded to the command. */
static const int stop_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
};

#define DEFAULT_KILL_AFTER_MS 10000

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

static void verbose_log(void *arg, const char *msg)
{
	(void)arg;
	clear_status();
	errorf("%s", msg);
}

static int parse_duration_option(const char *opt, const char *arg,
				 bool allow_zero, int64_t *ms)
{
	struct dlock_error err;

	if (dlock_parse_duration(arg, allow_zero, ms, &err))
		return usage_error("%s: %s", opt, err.msg);
	return 0;
}

int parse_run_options(int argc, char **argv, struct dlock_config *cfg,
		      struct run_opts *o)
{
	static const struct option options[] = {
		{ "nonblock", no_argument, NULL, 'n' },
		{ "nb", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "wait", required_argument, NULL, 'w' },
		{ "conflict-exit-code", required_argument, NULL, 'E' },
		{ "command", required_argument, NULL, 'c' },
		{ "exclusive", no_argument, NULL, 'x' },
		{ "shared", no_argument, NULL, 's' },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "fifo", no_argument, NULL, OPT_FIFO },
		{ "no-fifo", no_argument, NULL, OPT_NO_FIFO },
		{ "no-fork", no_argument, NULL, 'F' },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "on-lost", required_argument, NULL, OPT_ON_LOST },
		{ "kill-after", required_argument, NULL, OPT_KILL_AFTER },
		{ "lost-exit-code", required_argument, NULL,
		  OPT_LOST_EXIT_CODE },
		{ "max-hold", required_argument, NULL, OPT_MAX_HOLD },
		{ "lock-delay", required_argument, NULL, OPT_LOCK_DELAY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *shell_command = NULL;
	struct dlock_error err;
	int opt, status = 0;
	long n;

	o->ttl_ms = DLOCK_DEFAULT_TTL_MS;
	o->wait_ms = -1;
	o->kill_after_ms = DEFAULT_KILL_AFTER_MS;
	o->on_lost_signal = SIGTERM;
	o->conflict_status = EXIT_CONFLICT;
	o->lost_status = EXIT_LOST;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:nw:E:c:xsFqh", options,
				  NULL)) != -1) {
		if (global_option(cfg, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case 'n':
			o->wait_ms = 0;
			break;
		case 'w':
			status = parse_duration_option("-w", optarg, true,
						       &o->wait_ms);
			break;
		case 'E':
			if (dlock_parse_uint(optarg, 255, &n, &err))
				return usage_error("-E: %s", err.msg);
			o->conflict_status = (int)n;
			break;
		case 'c':
			o->run_only_given = true;
			shell_command = optarg;
			break;
		case 'x':
			o->mode = DLOCK_EXCLUSIVE;
			o->exclusive_given = true;
			break;
		case 's':
			o->mode = DLOCK_SHARED;
			break;
		case OPT_LIMIT:
			if (dlock_parse_uint(optarg, DLOCK_LIMIT_MAX, &n, &err))
				return usage_error("--limit: %s", err.msg);
			if (n == 0)
				return usage_error("--limit: it must be 1 or "
						   "more");
			o->limit = n;
			break;
		case OPT_FIFO:
			o->no_fifo = false;
			break;
		case OPT_NO_FIFO:
			o->no_fifo = true;
			break;
		case 'F':
			return usage_error("-F/--no-fork cannot work with dlock: "
					   "dlock must stay alive to renew the "
					   "lease while the command runs");
		case OPT_TTL:
			status = parse_duration_option("--ttl", optarg, false,
						       &o->ttl_ms);
			break;
		case OPT_ON_LOST:
			o->run_only_given = true;
			if (dlock_parse_signal(optarg, &o->on_lost_signal,
					       &err))
				return usage_error("--on-lost: %s", err.msg);
			break;
		case OPT_KILL_AFTER:
			o->run_only_given = true;
			status = parse_duration_option("--kill-after", optarg,
						       true, &o->kill_after_ms);
			break;
		case OPT_LOST_EXIT_CODE:
			o->run_only_given = true;
			if (dlock_parse_uint(optarg, 255, &n, &err))
				return usage_error("--lost-exit-code: %s",
						   err.msg);
			o->lost_status = (int)n;
			break;
		case OPT_MAX_HOLD:
			o->run_only_given = true;
			status = parse_duration_option("--max-hold", optarg,
						       false, &o->max_hold_ms);
			break;
		case OPT_LOCK_DELAY:
			status = parse_duration_option("--lock-delay", optarg,
						       true, &o->lock_delay_ms);
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case 'h':
			print_help(o->acquire_only ? acquire_help : run_help);
			return -1;
		default:
			return bad_option(argv, opt);
		}
		if (status)
			return status;
	}
	if (o->limit && (o->mode == DLOCK_SHARED || o->exclusive_given))
		return usage_error("--limit makes a counting semaphore: it "
				   "cannot be combined with -s or -x");
	if (o->limit)
		o->mode = DLOCK_LIMIT;
	if (optind >= argc)
		return usage_error(o->acquire_only ? "acquire: no lock name "
				   "given; use 'dlock acquire NAME'" : "run: no "
				   "lock name given; use 'dlock run NAME "
				   "COMMAND'");
	o->name = argv[optind++];
	if (dlock_check_name(o->name, &err))
		return usage_error("%s", err.msg);
	if (o->acquire_only) {
		if (optind < argc || o->run_only_given)
			return usage_error("acquire takes a lock name and the "
					   "options of 'dlock acquire --help' "
					   "only; to run a command, use 'dlock "
					   "run'");
		return 0;
	}
	/* flock(1) takes "-c STRING" after the lock name too. */
	if (!shell_command && optind < argc &&
	    (strcmp(argv[optind], "-c") == 0 ||
	     strcmp(argv[optind], "--command") == 0)) {
		if (optind + 1 >= argc)
			return usage_error("option '%s' needs a value",
					   argv[optind]);
		shell_command = argv[optind + 1];
		optind += 2;
		if (optind < argc)
			return usage_error("-c takes one string; quote the "
					   "whole shell command");
	}
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (shell_command) {
		const char *shell = getenv("SHELL");

		if (optind < argc)
			return usage_error("give either -c STRING or a "
					   "COMMAND, not both");
		o->shell_argv[0] = (char *)(shell && *shell ? shell : "/bin/sh");
		o->shell_argv[1] = (char *)"-c";
		o->shell_argv[2] = (char *)shell_command;
		o->argv = o->shell_argv;
		return 0;
	}
	if (optind >= argc)
		return usage_error("run: no command given after '%s'", o->name);
	o->argv = argv + optind;
	return 0;
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
	const struct run_opts *opts;
	struct dlock_child *child;
	struct dlock_lease *lease;
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
		{ .fd = s->lease ? dlock_lease_fd(s->lease) : -1,
		  .events = POLLIN },
	};
	int status;

	for (;;) {
		int timeout = -1, sig;

		if (s->lost) {
			int64_t left = s->kill_at - monotonic_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			/* Unsupervised, the command must not outlive us. */
			errorf("poll: %s; killing the command", strerror(errno));
			dlock_child_signal_group(s->child, SIGKILL);
			return -1;
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

static int run_locked(struct run_opts *o, struct dlock *d,
		      struct dlock_lock *lock, int sfd,
		      const sigset_t *run_set)
{
	struct supervision s = { .opts = o, .sfd = sfd };
	struct dlock_lease_opts lopts = {
		.max_hold_ms = o->max_hold_ms,
		.log = o->verbose ? verbose_log : NULL,
	};
	struct dlock_error err;
	char **env = NULL;
	int status, exec_errno;

	if (!dlock_lock_is_reentrant(lock) &&
	    dlock_lease_start(d, lock, &lopts, &s.lease, &err)) {
		errorf("%s", err.msg);
		status = EXIT_INTERNAL;
		goto out_release;
	}
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
	if (dlock_child_spawn(o->argv, env, &s.child, &exec_errno, &err)) {
		errorf("%s", err.msg);
		status = exec_errno == ENOENT ? EXIT_NOT_FOUND :
			 EXIT_CANNOT_EXEC;
		goto out_release;
	}
	status = supervise(&s);
	status = status < 0 ? EXIT_INTERNAL : status_of(status);
out_release:
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
	dlock_child_free(s.child);
	return status;
}

int take_and_run(struct run_opts *o, struct dlock_config *cfg)
{
	struct dlock_acquire_opts aopts = {
		.ttl_ms = o->ttl_ms,
		.lock_delay_ms = o->lock_delay_ms,
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
	sigset_t wait_set, run_set;
	struct dlock_lock *lock = NULL;
	struct dlock_error err;
	struct dlock *d = NULL;
	struct timespec start;
	char cmdline[1024];
	int sfd, rc, status, sig;

	/*
	 * Every signal we handle is blocked before any thread exists, and
	 * read from one signalfd. While waiting only the stopping ones end
	 * the wait; a terminal resize waits for the command.
	 */
	sigemptyset(&wait_set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(int); i++)
		sigaddset(&wait_set, stop_signals[i]);
	run_set = wait_set;
	sigaddset(&run_set, SIGWINCH);
	sigaddset(&run_set, SIGCHLD);
	{
		sigset_t blocked = run_set;

		/* Taking the terminal back from the command's group. */
		sigaddset(&blocked, SIGTTOU);
		sigprocmask(SIG_BLOCK, &blocked, NULL);
	}
	sfd = signalfd(-1, &wait_set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		errorf("signalfd: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	status = open_client(cfg, &d);
	if (status)
		goto out_close;
	if (o->verbose)
		dlock_set_log(d, verbose_log, NULL);
	if (!o->quiet && isatty(STDERR_FILENO))
		dlock_set_progress(d, show_status, NULL);
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
	rc = dlock_acquire(d, o->name, &aopts, &lock, &err);
	clear_status();
	switch (rc) {
	case 0:
		break;
	case DLOCK_EBUSY:
		if (!o->quiet)
			errorf("%s; not waiting (-n)", err.msg);
		status = o->conflict_status;
		goto out_free;
	case DLOCK_ETIMEDOUT:
		if (!o->quiet)
			errorf("%s (-w %.3gs)", err.msg,
			       (double)o->wait_ms / 1000);
		status = o->conflict_status;
		goto out_free;
	case DLOCK_ECANCELED:
		sig = take_signal(sfd);
		if (o->verbose)
			errorf("SIG%s while waiting for lock '%s'; nothing "
			       "was run", sig ? sigabbrev_np(sig) : "?",
			       o->name);
		status = 128 + sig;
		goto out_free;
	default:
		errorf("%s", err.msg);
		status = exit_status(rc);
		goto out_free;
	}
	/* A stop that came while the winning request was in flight. */
	sig = take_signal(sfd);
	if (sig) {
		if (o->verbose)
			errorf("SIG%s while taking lock '%s'; released it, "
			       "nothing was run", sigabbrev_np(sig), o->name);
		dlock_release(d, lock, &err);
		status = 128 + sig;
		goto out_free;
	}
	if (o->acquire_only) {
		if (o->verbose)
			errorf("took lock '%s' (token %s, lease %.3gs, not "
			       "renewed: use dlock renew)", o->name,
			       dlock_lock_fence(lock),
			       (double)o->ttl_ms / 1000);
		printf("%s\n", dlock_lock_owner(lock));
		dlock_lock_free(lock);
		status = 0;
		goto out_free;
	}
	if (o->verbose) {
		if (dlock_lock_is_reentrant(lock))
			errorf("lock '%s' is already held by this process "
			       "tree; running at once", o->name);
		else
			errorf("took lock '%s' in %.3fs (token %s, lease "
			       "%.3gs)", o->name, seconds_since(&start),
			       dlock_lock_fence(lock), (double)o->ttl_ms / 1000);
	}
	status = run_locked(o, d, lock, sfd, &run_set);
out_free:
	dlock_free(d);
out_close:
	close(sfd);
	return status;
}

int cmd_run(int argc, char **argv, struct dlock_config *cfg)
{
	struct run_opts o = { 0 };
	int status = parse_run_options(argc, argv, cfg, &o);

	if (status)
		return status < 0 ? 0 : status;
	return take_and_run(&o, cfg);
}
