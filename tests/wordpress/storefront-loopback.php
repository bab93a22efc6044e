<?php
/**
 * Plugin Name: Storefront loopback (tests only)
 * Description: Lets this test WordPress fetch the Storefront app on 127.0.0.1.
 *
 * WordPress refuses to fetch loopback hosts and ports other than 80, 443 and 8080
 * (wp_http_validate_url), which is right on the internet and in the way on a test
 * machine where every server is on 127.0.0.1. These two filters lift exactly that for
 * the Storefront app's own port; nothing in WordPress's embed handling is changed.
 */
$storefront_port = (int) getenv( 'STOREFRONT_WP_APP_PORT' );

add_filter(
	'http_request_host_is_external',
	function ( $external, $host ) {
		return $external || '127.0.0.1' === $host;
	},
	10,
	2
);

add_filter(
	'http_allowed_safe_ports',
	function ( $ports, $host ) use ( $storefront_port ) {
		if ( '127.0.0.1' === $host && $storefront_port ) {
			$ports[] = $storefront_port;
		}
		return $ports;
	},
	10,
	2
);
