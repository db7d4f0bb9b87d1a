/* Unit tests for src/common/json.c: the JSON line writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/err.h"
#include "sqlbundle/json.h"

struct capture {
	char	*buf;
	size_t	 size;
	FILE	*fp;
};

static void
cap_open(struct capture *c)
{
	c->buf = NULL;
	c->size = 0;
	c->fp = open_memstream(&c->buf, &c->size);
	assert_non_null(c->fp);
}

static void
cap_check(struct capture *c, const char *want)
{
	assert_int_equal(fclose(c->fp), 0);
	assert_string_equal(c->buf, want);
	free(c->buf);
}

static void
test_scalars(void **state)
{
	struct capture c;
	struct sb_json j;

	(void)state;
	cap_open(&c);
	sb_json_begin(&j, c.fp, "step_done");
	sb_json_str(&j, "revision", "a\"b\\c\n");
	sb_json_str(&j, "project", NULL);
	sb_json_int(&j, "code", -3);
	sb_json_uint(&j, "seed_bytes", 18446744073709551615ull);
	sb_json_secs(&j, "seconds", 1.23456);
	sb_json_secs(&j, "neg", -0.5);		/* a clock step back: 0 */
	sb_json_bool(&j, "transactional", false);
	sb_json_bool(&j, "exists", true);
	sb_json_end(&j);
	cap_check(&c, "{\"event\":\"step_done\",\"revision\":\"a\\\"b\\\\c"
	    "\\u000a\",\"project\":null,\"code\":-3,"
	    "\"seed_bytes\":18446744073709551615,\"seconds\":1.235,"
	    "\"neg\":0.000,\"transactional\":false,\"exists\":true}\n");
}

static void
test_nesting(void **state)
{
	char *heads[] = { "a1", "b2" };
	struct capture c;
	struct sb_json j;

	(void)state;
	cap_open(&c);
	sb_json_begin(&j, c.fp, "status");
	sb_json_strs(&j, "revisions", heads, 2);
	sb_json_strs(&j, "none", heads, 0);
	sb_json_array(&j, "history");
	sb_json_object(&j, NULL);
	sb_json_str(&j, "revision", "a1");
	sb_json_object(&j, "resume");
	sb_json_int(&j, "seed_line", 7);
	sb_json_close(&j);
	sb_json_close(&j);
	sb_json_object(&j, NULL);
	sb_json_close(&j);
	sb_json_int(&j, NULL, 5);
	/* sb_json_end closes what is still open. */
	sb_json_end(&j);
	cap_check(&c, "{\"event\":\"status\",\"revisions\":[\"a1\",\"b2\"],"
	    "\"none\":[],\"history\":[{\"revision\":\"a1\",\"resume\":"
	    "{\"seed_line\":7}},{},5]}\n");
}

static void
test_two_lines(void **state)
{
	struct capture c;
	struct sb_json j;

	(void)state;
	cap_open(&c);
	sb_json_begin(&j, c.fp, "info");
	sb_json_str(&j, "message", "caf\xe9");	/* not UTF-8 */
	sb_json_end(&j);
	sb_json_begin(&j, c.fp, "done");
	sb_json_end(&j);
	cap_check(&c, "{\"event\":\"info\",\"message\":\"caf\\ufffd\"}\n"
	    "{\"event\":\"done\"}\n");
}

static void
test_error(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct capture c;

	(void)state;
	cap_open(&c);
	sb_err_set(&err, SB_EDB, "revision \"b1\": custom failure");
	sb_json_error(c.fp, &err);
	sb_err_detail(&err, "the detail");
	sb_err_hint(&err, "the hint");
	memcpy(err.sqlstate, "P0001", 6);
	sb_json_error(c.fp, &err);
	/* A failure never reads as status 0. */
	sb_err_clear(&err);
	sb_json_error(c.fp, &err);
	cap_check(&c, "{\"event\":\"error\",\"code\":3,\"message\":\"revision "
	    "\\\"b1\\\": custom failure\"}\n"
	    "{\"event\":\"error\",\"code\":3,\"message\":\"revision "
	    "\\\"b1\\\": custom failure\",\"detail\":\"the detail\","
	    "\"hint\":\"the hint\",\"sqlstate\":\"P0001\"}\n"
	    "{\"event\":\"error\",\"code\":4,\"message\":\"\"}\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_two_lines),
		cmocka_unit_test(test_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
