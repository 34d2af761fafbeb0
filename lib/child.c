/* SPDX-License-Identifier: MIT */
/*
 * The command runs in a process group of its own, so that the whole tree
 * can be signalled at once without touching dlock or its neighbours in a
 * pipeline. When dlock owns the terminal, that group becomes the terminal's
 * foreground group, as a shell would do, so ^C and ^Z go to the command
 * only (and once), and reading the terminal works.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lock.h"

struct dlock_child {
	pid_t pid;	/* 0 until the command is spawned */
	pid_t pgid;	/* the command's process group: the guard's pid */
	int tty_fd;	/* our controlling terminal when we own it, else -1 */
	pid_t guard_pid;
	int guard_fd;	/* the guard's lifeline: it sees EOF when we die */
	int guard_end;	/* the guard's end of it */
	void *guard_stack;	/* while a guard shares our memory */
	bool dismissed;	/* the guard was sent SIGKILL, not yet reaped */
};

static bool is_lock_var(const char *entry)
{
	static const char *const names[] = {
		"DLOCK_PASSWORD=", "DLOCK_NAME=", "DLOCK_TOKEN=",
		"DLOCK_OWNER=", "DLOCK_TTL_MS=",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

char **dlock_child_env(char *const envp[], const struct dlock_lock *lock)
{
	size_t n = 0, out = 0;
	char **env;

	while (envp[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], "DLOCK_PASSWORD=", 15) == 0 ||
		    strncmp(envp[i], "DLOCK_SENTINEL_PASSWORD=", 24) == 0)
			continue;
		if (!lock->reentrant && is_lock_var(envp[i]))
			continue;
		env[out] = strdup(envp[i]);
		if (!env[out++])
			goto oom;
	}
	if (lock->reentrant)
		return env;
	if (asprintf(&env[out++], "DLOCK_NAME=%s", lock->name) < 0 ||
	    asprintf(&env[out++], "DLOCK_TOKEN=%s", lock->fence) < 0 ||
	    asprintf(&env[out++], "DLOCK_OWNER=%s", lock->owner) < 0 ||
	    asprintf(&env[out++], "DLOCK_TTL_MS=%lld",
		     (long long)lock->ttl_ms) < 0) {
		env[out - 1] = NULL;
		goto oom;
	}
	return env;
oom:
	dlock_env_free(env);
	return NULL;
}

void dlock_env_free(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* The controlling terminal, if dlock's process group has it now. */
static int foreground_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (tcgetpgrp(fd) != getpgrp()) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The command, between vfork() and exec: dlock is suspended meanwhile and
 * shares our memory, so only system calls; the reason an exec failed goes
 * through report, which the exec closes.
 */
static void exec_child(char *const argv[], char *const envp[],
		       const struct dlock_child *c, pid_t parent, int report)
{
	sigset_t none;
	int e;

	setpgid(0, c->pgid);
	if (c->tty_fd >= 0)
		tcsetpgrp(c->tty_fd, c->pgid);	/* SIGTTOU is still blocked */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) {
		e = EINTR;	/* dlock died before we could ask */
		(void)!write(report, &e, sizeof(e));
		_exit(126);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(argv[0], argv, envp);
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(e == ENOENT ? 127 : 126);
}

/*
 * The guard outlives dlock by a moment if dlock is killed outright: it
 * sees its lifeline close and kills the command's whole process group, so
 * no grandchild goes on without a lease. (The command itself also has
 * PR_SET_PDEATHSIG.) It leads that group, so the group exists, with an id
 * known before the command is forked, from before the lock is taken; and
 * it blocks every signal a terminal or an on-lost signal would send it.
 *
 * On x86-64 the guard shares our memory (clone with CLONE_VM), which is
 * most of what it cost: no page tables to copy, no copy-on-write faults
 * in dlock afterwards, no address space to tear down when it is killed.
 * A process that shares our memory also shares our thread's errno and
 * sanitizer state, so it makes system calls itself and calls nothing.
 * The shared memory outlives dlock's SIGKILL for as long as the guard
 * runs. What it gives up: the kernel's OOM killer, were it to choose
 * dlock, kills every process using dlock's memory, guard included (the
 * command still gets its PR_SET_PDEATHSIG). The guard is forked instead
 * where clone cannot be used so: on other machines, under
 * ThreadSanitizer (whose clone() treats every clone as a fork and would
 * rewrite our state from the child) and under valgrind (which exits on
 * such a clone).
 */
#define GUARD_NAME "dlock-guard"

static void forked_guard_main(const struct dlock_child *c)
{
	sigset_t all;
	char byte;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	close(c->guard_fd);
	prctl(PR_SET_NAME, GUARD_NAME);
	setpgid(0, 0);
	while (read(c->guard_end, &byte, 1) < 0 && errno == EINTR)
		;
	killpg(getpid(), SIGKILL);
	_exit(0);
}

static pid_t fork_guard(struct dlock_child *c)
{
	pid_t pid = fork();

	if (pid == 0)
		forked_guard_main(c);
	return pid;
}

#if defined(__SANITIZE_THREAD__)
#define GUARD_SHARES_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GUARD_SHARES_MEMORY 0
#endif
#endif
#if !defined(GUARD_SHARES_MEMORY) && defined(__x86_64__)
#define GUARD_SHARES_MEMORY 1
#endif
#ifndef GUARD_SHARES_MEMORY
#define GUARD_SHARES_MEMORY 0
#endif

#if GUARD_SHARES_MEMORY
#define GUARD_STACK_SIZE (16 * 1024)

/* A system call returning -errno, as the kernel does: errno is not ours. */
static inline long guard_syscall(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((no_sanitize("address", "undefined")))
static int shared_guard_main(void *arg)
{
	const struct dlock_child *c = arg;
	const unsigned long all = ~0UL;	/* the kernel's sigset_t */
	const int lifeline = c->guard_end;
	char byte;
	long n;

	guard_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, 0,
		      sizeof(all));
	guard_syscall(SYS_close, c->guard_fd, 0, 0, 0);
	guard_syscall(SYS_prctl, PR_SET_NAME, (long)GUARD_NAME, 0, 0);
	guard_syscall(SYS_setpgid, 0, 0, 0, 0);
	do
		n = guard_syscall(SYS_read, lifeline, (long)&byte, 1, 0);
	while (n == -EINTR);
	guard_syscall(SYS_kill, -guard_syscall(SYS_getpid, 0, 0, 0, 0),
		      SIGKILL, 0, 0);
	return 0;	/* clone()'s own code makes the exit system call */
}

/* Valgrind's preloaded core is how a program can tell it runs under it. */
static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "/vgpreload_core");
}

static pid_t start_guard(struct dlock_child *c)
{
	pid_t pid;

	if (under_valgrind())
		return fork_guard(c);
	c->guard_stack = malloc(GUARD_STACK_SIZE);
	if (!c->guard_stack) {
		errno = ENOMEM;
		return -1;
	}
	pid = clone(shared_guard_main,
		    (char *)c->guard_stack + GUARD_STACK_SIZE, CLONE_VM | SIGCHLD,
		    c);
	if (pid < 0) {
		free(c->guard_stack);
		c->guard_stack = NULL;
	}
	return pid;
}
#else
static pid_t start_guard(struct dlock_child *c)
{
	return fork_guard(c);
}
#endif

int dlock_child_prepare(struct dlock_child **out, struct dlock_error *err)
{
	struct dlock_child *c = calloc(1, sizeof(*c));
	int lifeline[2], e;

	if (!c)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	if (pipe2(lifeline, O_CLOEXEC) < 0) {
		e = errno;
		free(c);
		return set_error(err, DLOCK_ESYS, "pipe: %s", strerror(e));
	}
	c->guard_end = lifeline[0];
	c->guard_fd = lifeline[1];
	c->guard_pid = start_guard(c);
	e = errno;
	close(lifeline[0]);
	if (c->guard_pid < 0) {
		close(lifeline[1]);
		free(c);
		return set_error(err, DLOCK_ESYS, "fork: %s", strerror(e));
	}
	/* Both sides make the group, whichever runs first. */
	setpgid(c->guard_pid, c->guard_pid);
	c->pgid = c->guard_pid;
	c->tty_fd = -1;
	*out = c;
	return 0;
}

int dlock_child_spawn(struct dlock_child *c, char *const argv[],
		      char *const envp[], int *exec_errno,
		      struct dlock_error *err)
{
	pid_t parent = getpid();
	int report[2], e;
	ssize_t n;

	*exec_errno = 0;
	if (pipe2(report, O_CLOEXEC) < 0)
		return set_error(err, DLOCK_ESYS, "cannot start '%s': pipe: %s",
				 argv[0], strerror(errno));
	c->tty_fd = foreground_tty();
	/*
	 * vfork: no copy of our page tables, and we resume once the exec
	 * has either replaced the child or failed, so the report is already
	 * written or closed when we read it. The report is not left in
	 * shared memory because a sanitizer's vfork is a fork.
	 */
	c->pid = vfork();
	if (c->pid == 0)
		exec_child(argv, envp, c, parent, report[1]);
	e = errno;
	close(report[1]);
	if (c->pid < 0) {
		close(report[0]);
		c->pid = 0;
		return set_error(err, DLOCK_ESYS, "cannot start '%s': fork: %s",
				 argv[0], strerror(e));
	}
	while ((n = read(report[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(report[0]);
	const int failed = n == sizeof(e) ? e : 0;

	if (c->tty_fd >= 0 && !failed)
		tcsetpgrp(c->tty_fd, c->pgid);
	if (failed) {
		int status;

		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
		if (c->tty_fd >= 0)
			tcsetpgrp(c->tty_fd, getpgrp());
		*exec_errno = failed;
		return set_error(err, DLOCK_ESYS, "cannot run '%s': %s%s",
				 argv[0], strerror(failed), failed == ENOENT ?
				 "; check the name and PATH" : "");
	}
	return 0;
}

int dlock_child_signal(struct dlock_child *c, int sig)
{
	if (kill(c->pid, sig) < 0 && errno != ESRCH)
		return DLOCK_ESYS;
	return 0;
}

int dlock_child_signal_group(struct dlock_child *c, int sig)
{
	if (killpg(c->pgid, sig) < 0 && errno != ESRCH)
		return DLOCK_ESYS;
	return 0;
}

/* Whether /proc/<pid>/stat shows a live process in process group pgid. */
static bool in_group(const char *pid, pid_t pgid)
{
	char path[64], buf[512], *p, state;
	int fd, pgrp, ppid;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name may hold anything: fields resume after ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
		return false;
	return pgrp == pgid && state != 'Z';
}

bool dlock_child_group_alive(const struct dlock_child *c)
{
	struct dirent *e;
	bool alive = false;
	DIR *proc = opendir("/proc");

	if (!proc)
		return killpg(c->pgid, 0) == 0;
	while (!alive && (e = readdir(proc))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    atoi(e->d_name) == c->guard_pid)
			continue;
		alive = in_group(e->d_name, c->pgid);
	}
	closedir(proc);
	return alive;
}

/* ^Z: do what the shell expects of a job, then carry the command along. */
static void follow_stop(struct dlock_child *c)
{
	tcsetpgrp(c->tty_fd, getpgrp());
	kill(getpid(), SIGSTOP);
	/* Continued: by "fg" if the terminal is ours again, else by "bg". */
	if (tcgetpgrp(c->tty_fd) == getpgrp())
		tcsetpgrp(c->tty_fd, c->pgid);
	killpg(c->pgid, SIGCONT);
}

int dlock_child_poll(struct dlock_child *c, int *status)
{
	for (;;) {
		pid_t r = waitpid(c->pid, status, WNOHANG | WUNTRACED);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		if (WIFSTOPPED(*status)) {
			if (c->tty_fd >= 0)
				follow_stop(c);
			continue;
		}
		if (c->tty_fd >= 0)
			tcsetpgrp(c->tty_fd, getpgrp());
		return 1;
	}
}

void dlock_child_dismiss(struct dlock_child *c)
{
	/* Killed before its lifeline closes, so it does nothing. */
	if (c && c->guard_pid > 0 && !c->dismissed) {
		kill(c->guard_pid, SIGKILL);
		c->dismissed = true;
	}
}

void dlock_child_free(struct dlock_child *c)
{
	if (!c)
		return;
	dlock_child_dismiss(c);
	if (c->guard_pid > 0) {
		while (waitpid(c->guard_pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(c->guard_fd);
		free(c->guard_stack);
	}
	if (c->tty_fd >= 0)
		close(c->tty_fd);
	free(c);
}
