<?php
/**
 * Run one WordPress task from the command line, with WordPress's own functions:
 *   php wp.php install TITLE ADMIN_PASSWORD
 *   php wp.php user LOGIN ROLE             -> prints the new user's id
 *   php wp.php post USER_ID TITLE < CONTENT -> prints the new post's id (saved as USER_ID,
 *                                             so kses filters it unless they may post
 *                                             unfiltered HTML)
 *   php wp.php kses USER_ID < HTML          -> prints what kses keeps of HTML for that user
 * The docroot (with its wp-config.php) is the directory of this file.
 */
if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}
$task = $argv[1] ?? '';
if ( 'install' === $task ) {
	define( 'WP_INSTALLING', true );
}
$_SERVER['HTTP_HOST'] = getenv( 'STOREFRONT_WP_HOST' );
$_SERVER['REQUEST_URI'] = '/';
require __DIR__ . '/wp-load.php';

switch ( $task ) {
	case 'install':
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$result = wp_install( $argv[2], 'admin', 'admin@example.com', false, '', wp_slash( $argv[3] ) );
		echo $result['user_id'], "\n";
		break;
	case 'user':
		$id = wp_insert_user(
			array(
				'user_login' => $argv[2],
				'user_pass'  => wp_generate_password(),
				'user_email' => $argv[2] . '@example.com',
				'role'       => $argv[3],
			)
		);
		if ( is_wp_error( $id ) ) {
			fwrite( STDERR, $id->get_error_message() . "\n" );
			exit( 1 );
		}
		echo $id, "\n";
		break;
	case 'post':
		wp_set_current_user( (int) $argv[2] ); // runs kses_init() for this user
		$id = wp_insert_post(
			wp_slash(
				array(
					'post_title'   => $argv[3],
					'post_content' => stream_get_contents( STDIN ),
					'post_status'  => 'publish',
					'post_author'  => (int) $argv[2],
				)
			),
			true
		);
		if ( is_wp_error( $id ) ) {
			fwrite( STDERR, $id->get_error_message() . "\n" );
			exit( 1 );
		}
		echo $id, "\n";
		break;
	case 'kses':
		wp_set_current_user( (int) $argv[2] );
		echo wp_unslash( wp_filter_post_kses( wp_slash( stream_get_contents( STDIN ) ) ) );
		break;
	default:
		fwrite( STDERR, "unknown task '$task'\n" );
		exit( 2 );
}
