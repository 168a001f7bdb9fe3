/* Stand-in (see ../../CMakeLists.txt): nothing is used with CONFIG_HTTPD_WS_SUPPORT=n. */
#pragma once
