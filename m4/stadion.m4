# stadion.m4 - configure helpers for stadion.

# STADION_REQUIRE_PKG(VARIABLE-PREFIX, MODULES, DEBIAN-PACKAGE)
# ---------------------------------------------------------------
# Like PKG_CHECK_MODULES, but a missing module stops configure with a
# message that names the Debian package to install.
AC_DEFUN([STADION_REQUIRE_PKG], [
	PKG_CHECK_MODULES([$1], [$2], [], [
		AC_MSG_ERROR([$2 was not found by pkg-config ($$1_PKG_ERRORS).
  On Debian or Ubuntu install it with:  apt-get install $3])
	])
])

# STADION_REQUIRE_LIB(HEADER, LIBRARY, FUNCTION, DEBIAN-PACKAGE)
# ---------------------------------------------------------------
# For libraries without a .pc file: check the header and link FUNCTION from
# LIBRARY, or stop with the Debian package to install.  Sets LIBS_<LIBRARY>.
AC_DEFUN([STADION_REQUIRE_LIB], [
	AC_CHECK_HEADER([$1], [], [
		AC_MSG_ERROR([header $1 was not found.
  On Debian or Ubuntu install it with:  apt-get install $4])
	])
	stadion_save_LIBS=$LIBS
	AC_CHECK_LIB([$2], [$3], [], [
		AC_MSG_ERROR([lib$2 (function $3) was not found.
  On Debian or Ubuntu install it with:  apt-get install $4])
	])
	LIBS=$stadion_save_LIBS
])

# STADION_CHECK_LDFLAG(FLAG, ACTION-IF-OK)
# ----------------------------------------
AC_DEFUN([STADION_CHECK_LDFLAG], [
	AC_MSG_CHECKING([whether the linker accepts $1])
	stadion_save_LDFLAGS=$LDFLAGS
	LDFLAGS="$LDFLAGS $1"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
		[AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no])])
	LDFLAGS=$stadion_save_LDFLAGS
])
