GUEST_SRCS := echo.c
