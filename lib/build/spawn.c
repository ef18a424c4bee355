/* SPDX-License-Identifier: MIT */
/* Running the external programs of the build (mmdebstrap, mkfs.*, mtools). */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/strutil.h"

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* environ plus env_add, where env_add replaces variables of the same name. */
static char **build_env(const char *const *env_add)
{
	size_t n_env = 0, n_add = 0, k = 0;
	char **out;

	while (environ[n_env])
		n_env++;
	while (env_add && env_add[n_add])
		n_add++;
	out = sl_calloc_array(n_env + n_add + 1, sizeof(char *));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n_env; i++) {
		size_t nl = strcspn(environ[i], "=");
		bool replaced = false;

		for (size_t j = 0; j < n_add; j++)
			if (strncmp(env_add[j], environ[i], nl) == 0 && env_add[j][nl] == '=')
				replaced = true;
		if (replaced)
			continue;
		out[k] = sl_strdup(environ[i]);
		if (!out[k++])
			goto fail;
	}
	for (size_t j = 0; j < n_add; j++) {
		out[k] = sl_strdup(env_add[j]);
		if (!out[k++])
			goto fail;
	}
	return out;
fail:
	free_strv(out);
	return NULL;
}

int sl_spawn(const SlSpawn *s)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char **env = NULL;
	sigset_t none;
	pid_t pid;
	int r, status = 0, out_fd;
	const char *prog = s->argv[0];

	env = build_env(s->env_add);
	if (!env)
		return -ENOMEM;
	out_fd = s->stdout_fd >= 0 ? s->stdout_fd : s->log_fd;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (s->log_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, s->log_fd, STDERR_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);

	r = posix_spawnp(&pid, prog, &fa, &attr, (char *const *)s->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free_strv(env);
	if (r != 0)
		return sl_errorf(-r, "cannot run %s: %s", prog, strerror(r));

	for (;;) {
		pid_t w = waitpid(pid, &status, s->tick ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return sl_errorf(-errno, "waiting for %s: %s", prog, strerror(errno));
		}
		s->tick(s->userdata);
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return sl_errorf(-ENOENT, "%s could not be run (exit 127)%s%s", prog,
				 s->log_path ? "; see " : "", s->log_path ? s->log_path : "");
	if (WIFEXITED(status))
		return sl_errorf(-EIO, "%s failed with exit status %d%s%s", prog,
				 WEXITSTATUS(status), s->log_path ? "; see " : "",
				 s->log_path ? s->log_path : "");
	return sl_errorf(-EIO, "%s was killed by signal %d%s%s", prog,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0, s->log_path ? "; see " : "",
			 s->log_path ? s->log_path : "");
}

char *sl_shell_quote(const char *s)
{
	size_t n = 2;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = 0;
	return out;
}

void sl_argv_push(SlArgv *a, const char *s)
{
	char **v;

	if (a->oom)
		return;
	v = sl_realloc_array(a->v, a->n + 2, sizeof(char *));
	if (!v || !(v[a->n] = sl_strdup(s))) {
		if (v)
			a->v = v;
		a->oom = true;
		return;
	}
	a->v = v;
	a->v[++a->n] = NULL;
}

void sl_argv_pushf(SlArgv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		a->oom = true;
		return;
	}
	sl_argv_push(a, s);
	free(s);
}

int sl_argv_done(const SlArgv *a)
{
	return a->oom || !a->v ? -ENOMEM : 0;
}

void sl_argv_free(SlArgv *a)
{
	if (a->v)
		for (size_t i = 0; i < a->n; i++)
			free(a->v[i]);
	free(a->v);
	*a = (SlArgv){ 0 };
}
