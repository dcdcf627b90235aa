/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/sanitize.c — text another process supplied (its metrics,
 * its event names, its command name), made safe to print on a terminal.
 *
 * A process can say anything, and root's CLI reads every user's: a label
 * holding "ESC ] 0 ; title BEL" retitles the operator's terminal,
 * "ESC [ 2 J" clears it, and terminals have had worse sequences (answerback,
 * clipboard and font escapes).  Whatever a terminal would act on goes:
 * escape sequences whole (CSI "ESC [ ... final", the strings "ESC ] ... BEL
 * or ST" and their kin, "ESC + one byte"), C0 controls (newline and tab are
 * kept where the text is lines), DEL, C1 controls (U+0080-U+009F, encoded
 * or as bare bytes, CSI and the string introducers with what follows them)
 * and every byte that is not UTF-8.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"

/* The length of the UTF-8 sequence at @s and its code point in *@cp, or 0
 * when it is not one (overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, *cp = s[0] & 0x07;
	else
		return 0;
	/* Stops at the terminating NUL, which is no continuation byte. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))) || (n == 4 && (*cp < 0x10000 || *cp > 0x10ffff)))
		return 0;
	return n;
}

/* After a CSI introducer: parameter and intermediate bytes, then the final
 * byte.  Return: where the sequence ends. */
static size_t skip_csi(const unsigned char *s, size_t i)
{
	while (s[i] >= 0x20 && s[i] <= 0x3f)
		i++;
	if (s[i] >= 0x40 && s[i] <= 0x7e)
		i++;
	return i;
}

/* After a string introducer (OSC, DCS, SOS, PM, APC): up to BEL or ST
 * (ESC \ or C1 0x9c), taken with it.  An unterminated string ends at the
 * next ESC or line, so one bad line does not swallow the rest. */
static size_t skip_string(const unsigned char *s, size_t i)
{
	for (; s[i] && s[i] != '\n'; i++) {
		if (s[i] == 0x07 || s[i] == 0x9c)
			return i + 1;
		if (s[i] == 0xc2 && s[i + 1] == 0x9c)
			return i + 2;
		if (s[i] == 0x1b)
			return s[i + 1] == '\\' ? i + 2 : i;
	}
	return i;
}

/* ESC and the byte after it: what follows, and where it ends. */
static size_t skip_escape(const unsigned char *s, size_t i)
{
	unsigned char x = s[i + 1];

	if (x < 0x20 || x > 0x7e)
		return i + 1; /* a lone ESC: what follows is judged on its own */
	i += 2;
	if (x == '[')
		return skip_csi(s, i);
	if (x == ']' || x == 'P' || x == 'X' || x == '^' || x == '_')
		return skip_string(s, i);
	if (x <= 0x2f) { /* intermediates, then a final byte (ESC ( B) */
		while (s[i] >= 0x20 && s[i] <= 0x2f)
			i++;
		if (s[i] >= 0x30 && s[i] <= 0x7e)
			i++;
	}
	return i;
}

char *cli_sanitize(char *text, bool keep_lines)
{
	unsigned char *s = (unsigned char *)text;
	size_t i = 0, o = 0;

	while (s[i]) {
		uint32_t cp = 0;
		size_t n;

		if (s[i] == 0x1b) {
			i = skip_escape(s, i);
			continue;
		}
		n = utf8(s + i, &cp);
		if (!n && s[i] >= 0x80 && s[i] <= 0x9f) /* a bare C1 byte (8-bit terminals) */
			n = 1, cp = s[i];
		if (!n) {
			i++;
			continue;
		}
		i += n;
		if (cp >= 0x80 && cp <= 0x9f) {
			if (cp == 0x9b)
				i = skip_csi(s, i);
			else if (cp == 0x90 || cp == 0x98 || cp == 0x9d || cp == 0x9e || cp == 0x9f)
				i = skip_string(s, i);
			continue;
		}
		if (cp < 0x20 || cp == 0x7f) {
			if (keep_lines && (cp == '\n' || cp == '\t'))
				s[o++] = (unsigned char)cp;
			continue;
		}
		memmove(s + o, s + i - n, n);
		o += n;
	}
	s[o] = '\0';
	return text;
}
